"""An app's API routes mounted at the root, skipped at once for a path none of them can match.

Every app's URLconf is included at "" (config/urls.py), so Django tries each pattern of
each app in turn, raising and collecting a "not found" for every app that does not have
the path: a detail read of an invoice tried some sixty patterns of five apps before its
own. `routes()` includes an app as `path("", include(...))` does, with a pattern that
lets a path in only when it starts with the literal text one of the app's patterns
begins with. That text is found conservatively: a pattern whose beginning is not plain
text (an unanchored or case-insensitive regex, a translated route, anything but
a plain route or regex) lets every path in,
so routing is exactly Django's.
"""

import re
from re import _parser  # type: ignore[attr-defined]  # the standard library's regex parser
from typing import Any

from django.urls import URLPattern, URLResolver, include
from django.urls.resolvers import RegexPattern, RoutePattern


class _LiteralPrefixes(RoutePattern):
    """The empty route, matching only paths that start with one of `prefixes`."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__("", is_endpoint=False)
        self.prefixes = prefixes

    def match(self, path: str) -> Any:
        if not path.startswith(self.prefixes):
            return None
        return super().match(path)


def routes(urlconf: str) -> URLResolver:
    """`path("", include(urlconf))`, skipped for paths none of its patterns begins."""
    module, app_name, namespace = include(urlconf)
    resolver = URLResolver(RoutePattern(""), module, app_name=app_name, namespace=namespace)
    prefixes = tuple(dict.fromkeys(literal_prefix(pattern) for pattern in resolver.url_patterns))
    resolver.pattern = _LiteralPrefixes(prefixes)
    return resolver


def literal_prefix(entry: URLPattern | URLResolver) -> str:
    """The text every path `entry` matches starts with ("" when unsure)."""
    pattern = entry.pattern
    if type(pattern) is RoutePattern:
        route = pattern._route  # type: ignore[attr-defined]  # the route as written
        if type(route) is not str:  # a translated route depends on the language
            return ""
        return route.split("<", 1)[0]
    if type(pattern) is RegexPattern:
        return _regex_prefix(pattern._regex)  # type: ignore[attr-defined]
    return ""


def _regex_prefix(regex: Any) -> str:
    if type(regex) is not str:
        return ""
    parsed = _parser.parse(regex)
    if parsed.state.flags & (re.IGNORECASE | re.MULTILINE):
        return ""  # letters of either case, or `^` after any newline
    items = list(parsed)
    if not items or items[0] != (_parser.AT, _parser.AT_BEGINNING):
        return ""  # unanchored: it may match anywhere in the path
    text = []
    for op, value in items[1:]:
        if op is not _parser.LITERAL:
            break
        text.append(chr(value))
    return "".join(text)
