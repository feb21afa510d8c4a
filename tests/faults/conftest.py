"""The fault suite's fixtures, and the table of figures it prints at the end of a run.

Each fault test records what it tried, what held and what was lost with `figures(...)`;
the table is printed whether or not pytest captures output, and also for a failing test
(figures are recorded before the assertions)."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import Tenant, make_tenant
from tests.workers import require_worker_services, use_test_broker

FIGURES = "fault_figures"


@pytest.fixture
def broker() -> Iterator[str]:
    require_worker_services()
    with use_test_broker() as url:
        yield url


@pytest.fixture
def test_tenant(db: None, settings: Any) -> Tenant:
    """A tenant in test mode, whose webhook endpoints may be loopback receivers."""
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    return make_tenant(test_mode=True)


@pytest.fixture
def figures(record_property: Callable[[str, object], None]) -> Callable[..., None]:
    def record(**values: object) -> None:
        record_property(FIGURES, values)

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    rows = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.getreports(outcome):
            for name, values in report.user_properties:
                if name == FIGURES and report.when == "call":
                    test = report.nodeid.rsplit("::", 1)[-1]
                    rows.append((test, outcome, values))
    if not rows:
        return
    terminalreporter.write_sep("-", "fault and load suite figures")
    for test, outcome, values in rows:
        shown = "  ".join(f"{key}={value}" for key, value in values.items())
        terminalreporter.write_line(f"{test} [{outcome}]: {shown}")
