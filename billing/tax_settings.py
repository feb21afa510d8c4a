"""The `tax_settings` of a customer or supplier: an object whose other keys are the
caller's own (as in Piriod), of which the product reads a few and checks those."""

from typing import Any

# The SII's schema caps the receiver's giro (GiroRecep, DTE_v10.xsd) at 40 characters.
GIRO_MAX_LENGTH = 40


def tax_settings_errors(tax_settings: Any) -> dict[str, list[str]]:
    """The errors of `tax_settings`, by the path of the key at fault (`tax_settings.<key>`)."""
    # The API reads them back as an object; the admin's JSON box would take any JSON.
    if not isinstance(tax_settings, dict):
        return {"tax_settings": ['An object, e.g. {"cl_activity_description": "Imprenta"}.']}
    giro = tax_settings.get("cl_activity_description")
    if giro is not None and (not isinstance(giro, str) or len(giro) > GIRO_MAX_LENGTH):
        return {
            "tax_settings.cl_activity_description": [
                f"The giro as text of at most {GIRO_MAX_LENGTH} characters, as the SII "
                "takes it (GiroRecep)."
            ]
        }
    return {}
