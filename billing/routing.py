"""The server's routes in one resolver that tries, for a path, only the routes that can
match it.

Django tries a URLconf's patterns in order, and each app's API included at "" adds a
resolver that raises and collects a "not found" for every path it does not have: a
detail read of an invoice passed some twenty patterns and eight resolvers before its
own. `routes()` puts the server's routes and every app's patterns in one list, in the
order they were given, and files each under the first word of the text every path it
matches starts with (the literal text up to the first "/" or "."). A path is tried
against the routes filed under its own first word and those that could not be filed, in
their original order, so it resolves to what trying the whole list would give. A route
whose beginning is not plain text (an unanchored or case-insensitive regex, a
translated route, anything but a plain route or regex) is never filed: it is tried for
every path.
"""

import re
from re import _parser  # type: ignore[attr-defined]  # the standard library's regex parser
from typing import Any

from django.urls import URLPattern, URLResolver, include
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern, ResolverMatch, RoutePattern

Route = URLPattern | URLResolver


def routes(*entries: Route | str) -> URLResolver:
    """One resolver at "" over `entries`, where a dotted module name stands for its
    `urlpatterns`, as `path("", include(name))` would include them."""
    patterns: list[Route] = []
    for entry in entries:
        if isinstance(entry, str):
            module, app_name, namespace = include(entry)
            if app_name or namespace:
                raise ValueError(f"{entry} has a namespace: include it with path()")
            patterns.extend(getattr(module, "urlpatterns", module))
        else:
            patterns.append(entry)
    return _FiledRoutes(patterns)


def _word_of(pattern: Route) -> str | None:
    """The first word of every path `pattern` matches, or None when that is not known."""
    prefix = literal_prefix(pattern)
    word = first_word(prefix)
    # Without a "/" or "." after it, the word of a path that matches may go on.
    return None if word == prefix else word


def first_word(path: str) -> str:
    """The text before the path's first "/" or "." (the whole path when it has neither)."""
    return path.partition("/")[0].partition(".")[0]


class _FiledRoutes(URLResolver):
    def __init__(self, patterns: list[Route]) -> None:
        super().__init__(RoutePattern(""), patterns)
        words = [_word_of(pattern) for pattern in patterns]
        self._unfiled = tuple(p for p, word in zip(patterns, words, strict=True) if word is None)
        self._by_word = {
            word: tuple(
                p for p, other in zip(patterns, words, strict=True) if other in (None, word)
            )
            for word in dict.fromkeys(words)
            if word is not None
        }

    def resolve(self, path: Any) -> ResolverMatch:
        """URLResolver.resolve for a resolver at "" without a namespace or default
        arguments, over the routes that can match `path`."""
        path = str(path)  # path may be a reverse_lazy object
        tried: list[Any] = []
        for pattern in self._by_word.get(first_word(path), self._unfiled):
            try:
                sub_match = pattern.resolve(path)
            except Resolver404 as e:
                self._extend_tried(tried, pattern, e.args[0].get("tried"))  # type: ignore[attr-defined]
                continue
            if not sub_match:
                tried.append([pattern])
                continue
            self._extend_tried(tried, pattern, sub_match.tried)  # type: ignore[attr-defined]
            if isinstance(pattern, URLPattern):
                # What Django would build from it here, but for what it tried: the route,
                # names and arguments of a pattern are its own.
                sub_match.tried = tried
                return sub_match
            kwargs = dict(sub_match.kwargs)
            # Django's attributes, which its stubs do not declare.
            return ResolverMatch(
                sub_match.func,
                sub_match.args,
                kwargs,
                sub_match.url_name,
                [None, *sub_match.app_names],
                [None, *sub_match.namespaces],
                self._join_route(str(pattern.pattern), sub_match.route),  # type: ignore[attr-defined]
                tried,
                captured_kwargs=sub_match.captured_kwargs,  # type: ignore[attr-defined]
                extra_kwargs=dict(sub_match.extra_kwargs),  # type: ignore[attr-defined]
            )
        raise Resolver404({"tried": tried, "path": path})


def literal_prefix(entry: Route) -> str:
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
