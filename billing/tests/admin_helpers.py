"""What a browser posts to an admin change form."""

import json
from typing import Any

from django.db.models import Model
from django.forms.models import model_to_dict

MANAGEMENT = {
    "TOTAL_FORMS": "0",
    "INITIAL_FORMS": "0",
    "MIN_NUM_FORMS": "0",
    "MAX_NUM_FORMS": "1000",
}


def change_form_data(
    obj: Model, *, skip: tuple[str, ...] = (), inlines: tuple[str, ...] = (), **changes: Any
) -> dict[str, Any]:
    """The object's fields as stored (an unchecked box is not posted, JSON as text), the
    given inline prefixes empty, and `changes` over them."""
    data: dict[str, Any] = {}
    for name, value in model_to_dict(obj).items():
        if name in {"id", *skip} or value is False:
            continue
        if isinstance(value, dict | list):
            value = json.dumps(value)
        data[name] = "" if value is None else value
    for prefix in inlines:
        data |= {f"{prefix}-{key}": value for key, value in MANAGEMENT.items()}
    return data | changes


def _posted(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)
    return "" if value is None else value


def _form_data(form: Any) -> dict[str, Any]:
    # What the browser posts back for a form as rendered: an unchecked box is not posted.
    values = {form.add_prefix(name): form[name].value() for name in form.fields}
    return {name: _posted(value) for name, value in values.items() if value is not False}


def rendered_form_data(response: Any, **changes: Any) -> dict[str, Any]:
    """What a browser posts back from an admin add or change page as it rendered (the
    form, the inline formsets with their management forms), with `changes` over it."""
    data = _form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data |= _form_data(formset.management_form)
        for form in formset.forms:
            data |= _form_data(form)
    return data | changes
