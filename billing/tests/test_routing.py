"""The server's URLconf routes each path as Django's own `path("", include(...))` does."""

from types import SimpleNamespace

import pytest
from django.urls import URLResolver, include, path, re_path
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern, RoutePattern, get_resolver

from billing.routing import literal_prefix, routes
from config import urls as server_urls


def _plain_urlconf() -> SimpleNamespace:
    """The server's URLconf with every app included the plain way."""
    patterns = []
    for entry in server_urls.urlpatterns:
        if isinstance(entry, URLResolver) and type(entry.pattern) is not RoutePattern:
            entry = path("", include(entry.urlconf_name))
        patterns.append(entry)
    return SimpleNamespace(urlpatterns=patterns)


def _sample_paths() -> list[str]:
    stems = {"", "admin/", "INVOICES/", "invoicesx/", "\ninvoices/", "/invoices/", "x"}
    for entry in server_urls.urlpatterns:
        if isinstance(entry, URLResolver):
            stems.update(literal_prefix(child) for child in entry.url_patterns)
    tails = ["", "inv_1/", "inv_1", "inv_1/finalize/", "inv_1.json", "validate/", "1/2/3/"]
    return sorted({f"/{stem}{tail}" for stem in stems for tail in tails})


def _routed(resolver: URLResolver, url: str) -> tuple[object, ...]:
    try:
        match = resolver.resolve(url)
    except Resolver404:
        return ("not found",)
    return (match.func, match.args, match.kwargs, match.url_name, match.route)


@pytest.mark.parametrize("url", _sample_paths())
def test_each_path_routes_as_a_plain_include_routes_it(url):
    plain = URLResolver(RegexPattern(r"^/"), _plain_urlconf())

    assert _routed(get_resolver("config.urls"), url) == _routed(plain, url)


def test_an_app_is_skipped_only_for_paths_none_of_its_patterns_begins():
    invoices = routes("invoices.api.urls")

    assert invoices.pattern.match("invoices/inv_1/") == ("invoices/inv_1/", (), {})
    assert invoices.pattern.match("customers/cus_1/") is None


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
