"""A pytest plugin (conftest.py loads it): the OpenAPI document must list every status the
API answered during the run.

Every response Django produces for a test (the test clients, schemathesis' WSGI calls)
is recorded as (method, path, status). At the end of the session each is matched to the
operation of the document whose path template fits, and a status that operation does not
document fails the run, listed by operation. Server errors are left to the tests that
look for them (G7); paths and methods the document does not describe (405s, the admin,
unknown paths) are not operations and are skipped. Under xdist each worker hands what it
saw to the controller, which checks the whole run.
"""

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

import pytest
from django.core.handlers.base import BaseHandler

from tests.live import HTTP_METHODS, openapi_document

SEEN: set[tuple[str, str, int]] = set()
_PROBLEMS_KEY = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    original = BaseHandler.get_response

    def get_response(self: BaseHandler, request: Any) -> Any:
        response = original(self, request)
        SEEN.add((request.method, request.path_info, response.status_code))
        return response

    BaseHandler.get_response = get_response  # type: ignore[method-assign]


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    """Each path of the document as a regular expression, literal paths first, so that
    `/coupons/validate/` is not taken for `/coupons/{id}/`."""
    paths = sorted(openapi_document()["paths"], key=lambda p: (p.count("{"), p))
    return [
        (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"), path)
        for path in paths
    ]


def undocumented(seen: Iterable[tuple[str, str, int]], document: dict[str, Any]) -> list[str]:
    """`METHOD /template: status` for each status an operation answered but does not
    document, sorted."""
    problems = set()
    for method, path, status in seen:
        if status >= 500 or method.lower() not in HTTP_METHODS:
            continue
        template = next((t for regex, t in _templates() if regex.match(path)), None)
        operation = document["paths"].get(template, {}).get(method.lower())
        if operation is None:
            continue
        documented = operation["responses"]
        if str(status) not in documented and "default" not in documented:
            problems.add(f"{method} {template}: {status} (documented: {', '.join(documented)})")
    return sorted(problems)


_WORKER_OUTPUT = "openapi_statuses_seen"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On xdist's controller: what a worker saw joins the run's."""
    seen = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT, [])
    SEEN.update((method, path, status) for method, path, status in seen)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    worker_output = getattr(session.config, "workeroutput", None)
    if worker_output is not None:
        # An xdist worker saw only its share of the run: the controller checks the whole.
        worker_output[_WORKER_OUTPUT] = [list(seen) for seen in SEEN]
        return
    if not SEEN:
        return
    problems = undocumented(SEEN, openapi_document())
    session.config.stash[_PROBLEMS_KEY] = problems
    if problems and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    problems = config.stash.get(_PROBLEMS_KEY, [])
    if problems:
        terminalreporter.section("statuses the OpenAPI document does not declare", red=True)
        for line in problems:
            terminalreporter.write_line(line)
