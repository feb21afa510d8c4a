"""Meters change and are deleted in the admin through the meter services (meter_in_use)."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.clock import local_date
from billing.models import Workspace
from billing.tests.admin_helpers import change_form_data
from catalog.tests.factories import PlanFactory
from metering.models import Feature, Meter
from metering.store.partitions import month_start
from metering.tests.factories import FeatureFactory, MeterFactory, UsageEventFactory
from subscriptions.calendar import local_midnight

pytestmark = pytest.mark.django_db


@pytest.fixture
def meter_in_use():
    meter = MeterFactory()
    PlanFactory(workspace=meter.workspace, test_mode=meter.test_mode, meter_id=meter.pk)
    return meter


def change(meter, **changes):
    return change_form_data(meter, skip=("workspace", "test_mode"), **changes)


def test_what_a_meter_in_use_counts_cannot_change(admin_client, meter_in_use):
    url = reverse("admin:metering_meter_change", args=[meter_in_use.pk])

    renamed = admin_client.post(url, change(meter_in_use, name="Calls"))
    refused = admin_client.post(url, change(meter_in_use, name="Calls", event_name="other"))

    assert renamed.status_code == 302
    assert refused.status_code == 200
    assert "cannot change" in refused.content.decode()
    meter_in_use.refresh_from_db()
    assert (meter_in_use.name, meter_in_use.event_name) == ("Calls", "api_call")


def test_a_meter_in_use_is_not_deleted(admin_client, meter_in_use):
    url = reverse("admin:metering_meter_delete", args=[meter_in_use.pk])

    page = admin_client.get(url)
    posted = admin_client.post(url, {"post": "yes"})
    bulk = admin_client.post(
        reverse("admin:metering_meter_changelist"),
        {"action": "delete_selected", "_selected_action": [meter_in_use.pk], "post": "yes"},
    )

    assert "is used by a plan or a feature" in page.content.decode()
    assert posted.status_code == 200 and bulk.status_code == 200
    assert Meter.objects.filter(pk=meter_in_use.pk).exists()


def test_a_meter_not_in_use_is_deleted(admin_client):
    meter = MeterFactory()

    response = admin_client.post(
        reverse("admin:metering_meter_delete", args=[meter.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Meter.objects.filter(pk=meter.pk).exists()


def test_the_usage_shown_is_the_top_50_customer_keys_by_usage(admin_client):
    meter = MeterFactory(aggregation="sum", field="tokens")
    now = timezone.now()
    timezone_name = meter.workspace.timezone
    start = local_midnight(month_start(local_date(now, timezone_name)), timezone_name)
    # 60 keys, two events each: the keys of least usage sent the latest events.
    for usage in range(1, 61):
        for n in range(2):
            UsageEventFactory(
                workspace=meter.workspace,
                customer_key=f"key-{usage:02}",
                timestamp=start + (now - start) * (100 - usage - n) / 100,
                properties={"tokens": usage},
            )

    response = admin_client.get(reverse("admin:metering_meter_change", args=[meter.pk]))

    shown = re.findall(r"<div>(key-\d+): (\d+)</div>", response.content.decode())
    assert shown == [(f"key-{usage:02}", str(2 * usage)) for usage in range(60, 10, -1)]


def test_the_usage_shown_is_of_the_workspace_s_month(admin_client):
    meter = MeterFactory(test_mode=True, aggregation="sum", field="tokens")
    santiago = ZoneInfo("America/Santiago")
    # 22:00 on 30 November in Santiago is already 1 December in UTC.
    now = datetime(2026, 11, 30, 22, 0, tzinfo=santiago)
    Workspace.objects.filter(pk=meter.workspace_id).update(test_clock_at=now)
    for key, day, hour in (("october", 31, 23), ("november", 15, 12)):
        month = 10 if key == "october" else 11
        UsageEventFactory(
            workspace=meter.workspace, test_mode=True, customer_key=key,
            timestamp=datetime(2026, month, day, hour, 0, tzinfo=santiago),
        )  # fmt: skip

    response = admin_client.get(reverse("admin:metering_meter_change", args=[meter.pk]))

    shown = re.findall(r"<div>(\w+): (\d+)</div>", response.content.decode())
    assert shown == [("november", "1")]


def test_a_feature_does_not_point_at_a_meter_of_another_tenant(admin_client):
    meter = MeterFactory()
    feature = FeatureFactory(workspace=meter.workspace, feature_type="metered", meter=meter)
    elsewhere = MeterFactory()
    data = change_form_data(feature, skip=("workspace", "test_mode"), meter=elsewhere.pk)

    response = admin_client.post(reverse("admin:metering_feature_change", args=[feature.pk]), data)

    assert response.status_code == 200
    assert f"No meter {elsewhere.pk}." in response.content.decode()
    assert Feature.objects.get(pk=feature.pk).meter_id == meter.pk


def test_a_usage_record_s_quantity_reads_as_a_number(admin_client):
    from metering.tests.factories import UsageRecordFactory

    record = UsageRecordFactory()

    listed = admin_client.get(reverse("admin:metering_usagerecord_changelist")).content.decode()
    page = admin_client.get(
        reverse("admin:metering_usagerecord_change", args=[record.pk])
    ).content.decode()

    assert re.search(r'class="field-quantity_shown">3<', listed)
    for html in (listed, page):
        assert "3.000000" not in html
