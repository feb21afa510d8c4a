"""Reading the hosted checkout's form as a browser would submit it."""

import re

from django.http import HttpResponse

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def hidden_fields(page: HttpResponse) -> dict[str, str]:
    """The form's hidden inputs (its CSRF token and its attempt token)."""
    return dict(_HIDDEN.findall(page.content.decode()))
