"""Chilean addresses name their comuna: the SII's documents carry the receiver's
(CmnaRecep) and the issuer's (CmnaOrigen). Shared by customers and suppliers."""

from typing import Protocol

from billing.models import Comuna, Country, State

CHILE = "CL"


class Addressed(Protocol):
    country: Country
    state: State | None
    comuna: Comuna | None
    address: str


def comuna_errors(holder: Addressed, *, require: bool) -> dict[str, list[str]]:
    """What is wrong with the holder's comuna; a comuna without a state fills in its region.

    `require`: a Chilean address must name its comuna. Callers ask it of new addresses
    only (a create, or a change of address, country or comuna), so customers stored
    before comunas existed stay editable and are completed when their address is next
    written.
    """
    comuna = holder.comuna
    if comuna is None:
        if require and holder.country.code == CHILE and holder.address:
            return {"comuna": ["A Chilean address names its comuna (see /generals/comunas/)."]}
        return {}
    if holder.country.code != CHILE:
        return {"comuna": [f"Comunas are Chilean; the country is {holder.country.code}."]}
    if holder.state is None:
        holder.state = comuna.region
    elif holder.state.pk != comuna.region_id:
        return {"comuna": [f"{comuna.name} is in {comuna.region_id}, not {holder.state.pk}."]}
    return {}
