"""The server's URLconf routes each path as Django routes the same routes tried in order."""

import contextlib
import re
from re import _parser  # type: ignore[attr-defined]
from types import SimpleNamespace

import pytest
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern, RoutePattern, get_resolver

from billing.routing import first_word, literal_prefix, routes
from config import urls as server_urls


def _filed_routes() -> URLResolver:
    (filed,) = server_urls.urlpatterns
    return filed


def _plain_resolver() -> URLResolver:
    """The server's routes, the same list in the same order, tried the way Django tries
    any URLconf: every pattern in turn."""
    plain = path("", include(SimpleNamespace(urlpatterns=_filed_routes().url_patterns)))
    return URLResolver(RegexPattern(r"^/"), SimpleNamespace(urlpatterns=[plain]))


_SAMPLE_VALUES = {
    "str": "x_1",
    "int": "7",
    "slug": "a-b",
    "uuid": "12345678-1234-5678-1234-567812345678",
    "path": "a/b",
}


def _class_text(items: list) -> str:
    text = []
    for op, value in items:
        if op is _parser.NEGATE:
            text.append("^")
        elif op is _parser.LITERAL:
            text.append(re.escape(chr(value)))
        elif op is _parser.RANGE:
            text.append(f"{re.escape(chr(value[0]))}-{re.escape(chr(value[1]))}")
        else:
            raise AssertionError(f"no example for {op} in a character class")
    return f"[{''.join(text)}]"


def _regex_example(items: list) -> str:
    """Text the parsed regex matches (lookaheads aside)."""
    text = []
    for op, value in items:
        if op is _parser.LITERAL:
            text.append(chr(value))
        elif op is _parser.SUBPATTERN:
            text.append(_regex_example(value[3]))
        elif op in (_parser.MAX_REPEAT, _parser.MIN_REPEAT):
            text.append(_regex_example(value[2]) * max(value[0], 1))
        elif op is _parser.IN:
            allowed = re.compile(_class_text(value))
            text.append(next(c for c in "a1x_-Z" if allowed.fullmatch(c)))
        elif op is _parser.ANY:
            text.append("a")
        elif op is _parser.BRANCH:
            text.append(_regex_example(value[1][0]))
        elif op not in (_parser.AT, _parser.ASSERT_NOT, _parser.ASSERT):
            raise AssertionError(f"no example for {op}")
    return "".join(text)


def _example(entry: URLPattern | URLResolver) -> str:
    pattern = entry.pattern
    if isinstance(pattern, RoutePattern):
        return re.sub(
            r"<(?:(\w+):)?(\w+)>", lambda m: _SAMPLE_VALUES[m[1] or "str"], str(pattern._route)
        )
    assert isinstance(pattern, RegexPattern)
    return _regex_example(list(_parser.parse(pattern._regex)))


def _examples(entries: list, prefix: str = "") -> list[str]:
    """A path for every route of `entries`, and its neighbours: cut short, run on,
    another case, a suffix."""
    found = []
    for entry in entries:
        text = prefix + _example(entry)
        if isinstance(entry, URLResolver):
            found += _examples(entry.url_patterns, text)
        found += [text, text.rstrip("/"), text + "x/", text.upper(), text + ".json", text + "/"]
    return found


def _sample_paths() -> list[str]:
    stems = {"", "admin/", "INVOICES/", "invoicesx/", "\ninvoices/", "/invoices/", "x", ".x"}
    tails = ["", "inv_1/", "inv_1", "inv_1/finalize/", "inv_1.json", "validate/", "1/2/3/"]
    made_up = {f"{stem}{tail}" for stem in stems for tail in tails}
    return sorted({f"/{text}" for text in [*_examples(_filed_routes().url_patterns), *made_up]})


def _routed(resolver: URLResolver, url: str) -> tuple[object, ...]:
    try:
        match = resolver.resolve(url)
    except Resolver404:
        return ("not found",)
    return (
        match.func,
        match.args,
        match.kwargs,
        match.url_name,
        match.route,
        match.app_names,
        match.namespaces,
        match.view_name,
        match.captured_kwargs,
        match.extra_kwargs,
    )


def test_each_path_routes_as_trying_every_route_in_order_routes_it():
    server, plain = get_resolver("config.urls"), _plain_resolver()

    routed = {url: _routed(server, url) for url in _sample_paths()}

    assert routed == {url: _routed(plain, url) for url in routed}


def test_the_sample_paths_reach_every_named_route():
    def names(entries: list, namespace: str = "") -> set[str]:
        found: set[str] = set()
        for entry in entries:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                found |= names(entry.url_patterns, inner)
            elif entry.name:
                found.add(f"{namespace}{entry.name}")
        return found

    server = get_resolver("config.urls")
    reached = set()
    for url in _sample_paths():
        with contextlib.suppress(Resolver404):
            reached.add(server.resolve(url).view_name)

    assert names(_filed_routes().url_patterns) <= reached


def test_names_reverse_as_trying_every_route_in_order_reverses_them():
    server, plain = get_resolver("config.urls"), _plain_resolver()
    names = [name for name in plain.reverse_dict if isinstance(name, str)]

    assert {name: server.reverse_dict.getlist(name) for name in names} == {
        name: plain.reverse_dict.getlist(name) for name in names
    }
    assert server.namespace_dict.keys() == plain.namespace_dict.keys()
    assert server.app_dict == plain.app_dict


def test_a_path_tries_only_the_routes_filed_under_its_first_word_and_the_unfiled():
    health = path("health/", lambda r: r, name="health")
    invoice = re_path(r"^invoices/(?P<pk>[^/.]+)/$", lambda r: r, name="invoice")
    anything = re_path(r"^(?!admin/)", lambda r: r, name="anything")
    filed = routes(health, invoice, anything)

    tried = filed.resolve("invoices/inv_1/").tried

    assert [entry for (entry,) in tried] == [invoice]
    assert filed.resolve("invoices/inv_1/").kwargs == {"pk": "inv_1"}
    assert [entry for (entry,) in filed.resolve("healthz/").tried] == [anything]


def test_an_included_urlconf_with_a_namespace_is_refused():
    with pytest.raises(ValueError, match="namespace"):
        routes("rest_framework.urls")


@pytest.mark.parametrize(
    ("text", "word"),
    [("invoices/inv_1/", "invoices"), ("openapi.json", "openapi"), ("health", "health"), ("", "")],
)
def test_the_first_word_of_a_path(text, word):
    assert first_word(text) == word


@pytest.mark.parametrize(
    ("entry", "prefix"),
    [
        (path("invoices/<str:pk>/lines/", lambda r: r), "invoices/"),
        (path("health/", lambda r: r), "health/"),
        (re_path(r"^invoices/(?P<pk>[^/.]+)/$", lambda r: r), "invoices/"),
        (re_path(r"^files\.list/$", lambda r: r), "files.list/"),
        # What may match other text starts with nothing certain.
        (re_path(r"^invoices?/$", lambda r: r), "invoice"),
        (re_path(r"invoices/$", lambda r: r), ""),
        (re_path(r"(?i)^invoices/$", lambda r: r), ""),
        (re_path(r"(?m)^invoices/$", lambda r: r), ""),
        (re_path(r"^(?:invoices|orders)/$", lambda r: r), ""),
        (re_path(r"^(?!admin/)", lambda r: r), ""),
    ],
)
def test_the_literal_prefix_of_a_pattern(entry, prefix):
    assert literal_prefix(entry) == prefix
