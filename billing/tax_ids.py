"""Tax identifiers per country, validated with python-stdnum.

A country listed here has tax regulation: its customers and suppliers billed from a
workspace in the same country must carry a valid tax id.
"""

from collections.abc import Callable
from types import ModuleType

from stdnum import exceptions as stdnum_errors
from stdnum.ar import cuit
from stdnum.cl import rut
from stdnum.co import nit
from stdnum.ec import ruc as ec_ruc
from stdnum.es import nif
from stdnum.mx import rfc
from stdnum.pe import ruc as pe_ruc
from stdnum.uy import rut as uy_rut


def _chilean_rut(value: str) -> str:
    # The SII's own notation: digits, a hyphen, the check digit (76123456-K).
    compact = rut.validate(value)
    return f"{compact[:-1]}-{compact[-1]}"


def _validated_by(module: ModuleType) -> Callable[[str], str]:
    return module.validate


VALIDATORS: dict[str, Callable[[str], str]] = {
    "CL": _chilean_rut,
    "AR": _validated_by(cuit),
    "CO": _validated_by(nit),
    "EC": _validated_by(ec_ruc),
    "ES": _validated_by(nif),
    "MX": _validated_by(rfc),
    "PE": _validated_by(pe_ruc),
    "UY": _validated_by(uy_rut),
}


class InvalidTaxId(ValueError):
    pass


def normalize_tax_id(country_code: str, value: str) -> str:
    """The canonical form of `value`, or `InvalidTaxId` with a reason a person can act on."""
    validate = VALIDATORS.get(country_code)
    if validate is None:
        return value.strip()
    try:
        return validate(value)
    except stdnum_errors.InvalidChecksum as exc:
        raise InvalidTaxId("The check digit does not match.") from exc
    except stdnum_errors.ValidationError as exc:
        raise InvalidTaxId(f"Not a valid tax id for {country_code}: {exc}") from exc
