"""The dashboard's charts in a real browser (chromium) with large figures: each currency's
revenue and each meter's usage on its own scale, and every chart drawn at the size it is
shown."""

from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from invoices.models import Invoice
from metering.store.partitions import month_start
from metering.tests.factories import MeterFactory, UsageEventFactory
from payments.tests.test_browser import chromium  # noqa: F401 - the fixture
from tests.conftest import make_tenant
from tests.factories import CustomerFactory, FinalizedInvoiceFactory, PaymentFactory, UserFactory

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
    // Per dataset, how far above the chart's bottom its last point is drawn.
    lasts: chart.data.datasets.map((_, i) => {
      const points = chart.getDatasetMeta(i).data;
      return points.length ? chart.chartArea.bottom - points[points.length - 1].y : null;
    }),
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
    customer = CustomerFactory(workspace=workspace)
    MeterFactory(workspace=workspace, name="Logins", event_name="login", aggregation="count")
    MeterFactory(workspace=workspace, name="Bytes", event_name="bytes", field="n")
    this_month = datetime.combine(month_start(timezone.now().date()), time(1), UTC)
    for _ in range(12):
        UsageEventFactory(
            workspace=workspace, event_name="login", customer_key=customer.id, timestamp=this_month
        )
    UsageEventFactory(
        workspace=workspace, event_name="bytes", customer_key=customer.id, timestamp=this_month,
        properties={"n": "9999999999"},
    )  # fmt: skip
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
    usage = charts["chart-usage"]
    # One axis per meter beside the months': 12 logins beside 9,999,999,999 bytes is a
    # point as high as the bytes', not one on the floor.
    assert len(usage["scales"]) == 3, usage
    bytes_, logins = usage["lasts"]  # by name
    assert logins > bytes_ / 2, usage
