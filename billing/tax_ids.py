"""Tax identifiers per country, validated with python-stdnum.

A country listed here has tax regulation: its customers and suppliers billed from a
workspace in the same country must carry a valid tax id.
"""

from collections.abc import Callable
from types import ModuleType

from django.db.models import Q, QuerySet
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
    """The SII's own notation: the number without leading zeros, a hyphen, the check digit
    (76123456-K). `07.608.642-7` and `7608642-7` are one RUT, so they are stored as one."""
    compact = rut.compact(value)
    number, check_digit = compact[:-1].lstrip("0"), compact[-1:]
    if not number:
        raise stdnum_errors.InvalidFormat()
    # stdnum wants 7 or 8 digits; a number below a million is valid zero-padded, so it is
    # validated padded and stored without the zeros, like any other.
    rut.validate(number.zfill(7) + check_digit)
    return f"{number}-{check_digit}"


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


def tax_id_lookup(value: str, *, prefix: str = "") -> Q:
    """Rows (with `country` and `tax_id`, or those of the relation `prefix` names, as
    `customer__`) whose tax id is `value` however it is spelled: as each country's
    validator stores it, or as given (a country without one, or a row stored before its
    country's rule)."""
    query = Q(**{f"{prefix}tax_id": value.strip()})
    for country_code in VALIDATORS:
        try:
            stored = normalize_tax_id(country_code, value)
        except InvalidTaxId:
            continue
        query |= Q(**{f"{prefix}country_id": country_code, f"{prefix}tax_id": stored})
    return query


def normalize_stored_ruts(rows: QuerySet) -> None:
    """Rewrite the Chilean RUTs among `rows` (models with `country` and `tax_id`) stored
    with leading zeros before the zeros were dropped; for data migrations."""
    changed = []
    for row in rows.filter(country_id="CL", tax_id__startswith="0"):
        try:
            row.tax_id = normalize_tax_id("CL", row.tax_id)
        except InvalidTaxId:
            continue  # stored invalid by some other way in: left as it is, not guessed at
        changed.append(row)
    rows.model._default_manager.bulk_update(changed, ["tax_id"], batch_size=1000)


def display_tax_id(country_code: str, value: str) -> str:
    """A tax id as documents print it: a Chilean RUT with dots (76.086.428-5); others, and
    a value that is not a valid RUT, as stored."""
    if country_code != "CL" or not value:
        return value
    try:
        return str(rut.format(rut.validate(value)))
    except stdnum_errors.ValidationError:
        return value
