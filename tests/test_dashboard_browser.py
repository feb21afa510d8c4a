"""The dashboard's charts in a real browser (chromium) with large figures: each currency's
revenue on its own scale, and every chart drawn at the size it is shown."""

from decimal import Decimal
from typing import Any

import pytest

from invoices.models import Invoice
from payments.tests.test_browser import chromium  # noqa: F401 - the fixture
from tests.conftest import make_tenant
from tests.factories import FinalizedInvoiceFactory, PaymentFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "a-long-test-password"

# Per chart: the drawing's height in CSS pixels against the height shown, and the height
# in pixels of each dataset's first bar.
MEASURE = """() => [...document.querySelectorAll("canvas")].map((canvas) => {
  const chart = Chart.getChart(canvas);
  return {
    id: canvas.id,
    drawn: canvas.height / chart.currentDevicePixelRatio,
    shown: canvas.getBoundingClientRect().height,
    scales: Object.keys(chart.scales),
    bars: chart.data.datasets.map((_, i) => chart.getDatasetMeta(i).data[0]?.height ?? null),
  };
})"""


def test_large_figures_keep_each_chart_to_scale(chromium, live_server) -> None:  # noqa: F811
    thread, browser = chromium
    workspace = make_tenant().workspace
    clp = FinalizedInvoiceFactory(workspace=workspace)
    usd = FinalizedInvoiceFactory(workspace=workspace, currency_id="USD")
    Invoice.objects.filter(pk=clp.pk).update(total=Decimal("9999999999999"))
    Invoice.objects.filter(pk=usd.pk).update(total=Decimal("9999"))
    PaymentFactory.create_batch(3, workspace=workspace)
    staff = UserFactory(is_staff=True)
    staff.set_password(PASSWORD)
    staff.save()

    def measure() -> list[dict[str, Any]]:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{live_server.url}/admin/login/?next=/admin/dashboard/")
        page.get_by_label("Username").fill(staff.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_selector("body[data-charts-drawn=true]", timeout=10000)
        charts: list[dict[str, Any]] = page.evaluate(MEASURE)
        context.close()
        return charts

    charts = {chart["id"]: chart for chart in thread.run(measure)}

    for chart in charts.values():
        assert abs(chart["drawn"] - chart["shown"]) <= 1, chart
    revenue = charts["chart-revenue"]
    assert {"CLP", "USD"} <= set(revenue["scales"])
    # 9,999 USD beside 9,999,999,999,999 CLP: a bar as tall as the CLP one, not a sliver.
    clp_bar, usd_bar = revenue["bars"]
    assert usd_bar > clp_bar / 2
