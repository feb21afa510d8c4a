"""The back office in a real browser (chromium) at 1280 px: a staff user logs in, opens
every registered model's list and one change page of each, then the dashboard (its
charts drawn), and nothing answers 500 or is wider than the window. Screenshots go to
var/test-artifacts/admin-*.png."""

from typing import Any

import pytest
from django.contrib import admin
from django.urls import reverse

from payments.tests.test_browser import ARTIFACTS, chromium  # noqa: F401 - the fixture
from tests.conftest import make_tenant
from tests.factories import UserFactory
from tests.live import seed_objects

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WIDTH = 1280


def _pages() -> list[tuple[str, str]]:
    """(name, path) of every changelist, and of the change page of its first row."""
    pages = []
    for model in admin.site._registry:
        opts = model._meta
        name = f"{opts.app_label}.{opts.model_name}"
        pages.append((name, reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")))
        first = model.objects.order_by("pk").first()
        if first is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
            pages.append((f"{name}.change", change))
    return pages


def _overflow(page: Any) -> int:
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def test_every_admin_page_opens_and_fits_1280px(chromium, live_server) -> None:  # noqa: F811
    thread, browser = chromium
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    seed_objects(make_tenant())
    staff = UserFactory(is_staff=True, is_superuser=True)
    staff.set_password("a-long-test-password")
    staff.save()
    pages = _pages()
    assert len(pages) > 40, pages

    def walk() -> list[str]:
        context = browser.new_context(viewport={"width": WIDTH, "height": 900})
        page = context.new_page()
        page.goto(f"{live_server.url}/admin/login/")
        page.get_by_label("Username").fill(staff.username)
        page.get_by_label("Password").fill("a-long-test-password")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        problems = []
        for name, path in pages:
            response = page.goto(f"{live_server.url}{path}")
            status = response.status if response else 0
            overflow = _overflow(page)
            if status != 200 or overflow > 0:
                problems.append(f"{name} {path}: status {status}, {overflow} px too wide")
                page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)
        page.goto(f"{live_server.url}/admin/")
        page.screenshot(path=str(ARTIFACTS / "admin-index.png"), full_page=True)
        # The dashboard's charts are drawn by Chart.js from our static files.
        page.get_by_role("link", name="Dashboard: revenue").click()
        page.wait_for_selector("body[data-charts-drawn=true]", timeout=10000)
        if _overflow(page) > 0:
            problems.append(f"dashboard: {_overflow(page)} px too wide")
        page.screenshot(path=str(ARTIFACTS / "admin-dashboard.png"), full_page=True)
        context.close()
        return problems

    problems: list[Any] = thread.run(walk)

    assert problems == [], "\n".join(problems)
