"""A Chilean address may name its comuna, which the SII's documents carry for the receiver
(CmnaRecep) and the issuer (CmnaOrigen). Shared by customers and suppliers.

The comuna is optional: Piriod's clients create customers with an address and no comuna,
and a drop-in must keep accepting them. When one is given it must agree with the country
and the region."""

from typing import Protocol

from billing.models import Comuna, Country, State

CHILE = "CL"


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
