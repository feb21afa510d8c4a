"""A Chilean address may name its comuna, which the SII's documents carry for the receiver
(CmnaRecep) and the issuer (CmnaOrigen). Shared by customers and suppliers.

The comuna is optional: Piriod's clients create customers with an address and no comuna,
and a drop-in must keep accepting them. When one is given it must agree with the country
and the region."""

from typing import Protocol

from billing.models import Comuna, Country, State

CHILE = "CL"


def comuna_code(text: str) -> str:
    """The stored code a comuna's code as sent names. Codes have five digits, whose first
    two are the region's: a code sent as a number loses the leading zero of regions 1 to 9
    (Valparaíso's 05101 is 5101), so a shorter code of digits is read with its zeros."""
    text = text.strip()
    length = Comuna._meta.get_field("code").max_length
    return text.zfill(length) if text.isdecimal() and length else text


class Addressed(Protocol):
    country: Country
    state: State | None
    comuna: Comuna | None
    address: str


def comuna_errors(holder: Addressed) -> dict[str, list[str]]:
    """What is wrong with the holder's comuna; a comuna without a state fills in its region."""
    comuna = holder.comuna
    if comuna is None:
        return {}
    if holder.country.code != CHILE:
        return {"comuna": [f"Comunas are Chilean; the country is {holder.country.code}."]}
    if holder.state is None:
        holder.state = comuna.region
    elif holder.state.pk != comuna.region_id:
        return {"comuna": [f"{comuna.name} is in {comuna.region_id}, not {holder.state.pk}."]}
    return {}
