"""A reminder template's text with its {placeholders} filled: the one renderer that
checks a template when it is written and fills it when a reminder is sent, so a text
accepted is a text that renders.

A placeholder is a plain name: no format spec (`{days:>9999999}` would build a huge
string, `{customer_name:d}` fails on a text), no conversion, index or attribute.
"""

import string
from collections.abc import Mapping

from reminders.choices import PLACEHOLDERS


class TemplateError(ValueError):
    """A text that does not render; its message says how to write it."""


def _all_placeholders() -> str:
    return ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)


def template_render(text: str, values: Mapping[str, object]) -> str:
    """`text` with each {placeholder} replaced by its value in `values` (one for each of
    PLACEHOLDERS); `{{` and `}}` write a brace."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:  # an unmatched brace
        raise TemplateError(f"{exc}; write a literal brace as {{{{ or }}}}.") from exc
    rendered = []
    for literal, name, spec, conversion in parts:
        rendered.append(literal)
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise TemplateError(
                f"Unknown placeholder {{{name}}}; the placeholders are {_all_placeholders()}."
            )
        if spec or conversion:
            raise TemplateError(
                f"Placeholder {{{name}}} has a format (after : or !); a placeholder is a "
                f"plain name, as {{{name}}}."
            )
        rendered.append(str(values[name]))
    return "".join(rendered)


def template_check(text: str) -> None:
    """Raises TemplateError when `text` would not render."""
    template_render(text, dict.fromkeys(PLACEHOLDERS, ""))


def subject_check(text: str) -> None:
    """Raises TemplateError when `text` would not render or is more than one line: an
    email's subject is a header, which a line break would end."""
    if "\n" in text or "\r" in text:
        raise TemplateError("A subject is one line: remove its line breaks.")
    template_check(text)


def subject_line(text: str) -> str:
    """A rendered subject on one line: a placeholder's value (a customer's name) may hold
    a line break."""
    return " ".join(text.splitlines())
