"""The reminder admins save and delete through the reminder services, as the API does:
what the API refuses is refused on the form, and nothing is saved."""

import pytest
from django.urls import reverse

from billing.tests.admin_helpers import rendered_form_data
from reminders.models import ReminderRule
from reminders.tests.factories import (
    ReminderMessageFactory,
    ReminderRuleFactory,
    ReminderTemplateFactory,
)

pytestmark = pytest.mark.django_db


def post_change(admin_client, obj, **changes):
    url = reverse(f"admin:reminders_{obj._meta.model_name}_change", args=[obj.pk])
    return admin_client.post(url, rendered_form_data(admin_client.get(url), **changes))


def test_a_valid_change_is_saved(admin_client):
    rule = ReminderRuleFactory()

    response = post_change(admin_client, rule, days=5)

    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.days == 5


@pytest.mark.parametrize(
    ("factory", "changes", "field"),
    [
        (ReminderTemplateFactory, {"subject": "Factura {numero_inexistente}"}, "subject"),
        (ReminderTemplateFactory, {"body": "Quedan {amount_due"}, "body"),
        (ReminderRuleFactory, {"days": 4000}, "days"),
    ],
)
def test_what_the_api_refuses_is_refused_on_the_form(admin_client, factory, changes, field):
    obj = factory()
    before = {name: getattr(obj, name) for name in changes}

    response = post_change(admin_client, obj, **changes)

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    obj.refresh_from_db()
    assert {name: getattr(obj, name) for name in changes} == before


def test_a_rule_that_sent_reminders_is_not_deleted(admin_client):
    rule = ReminderMessageFactory().rule
    url = reverse("admin:reminders_reminderrule_delete", args=[rule.pk])

    page = admin_client.get(url)
    response = admin_client.post(url, {"post": "yes"})

    assert "Cannot delete" in page.content.decode()
    assert response.status_code == 200
    assert ReminderRule.objects.filter(pk=rule.pk).exists()


def test_a_template_of_another_workspace_is_refused_as_in_the_api(admin_client):
    rule = ReminderRuleFactory()
    elsewhere = ReminderTemplateFactory()
    before = rule.template_id

    response = post_change(admin_client, rule, template=elsewhere.pk)

    assert response.status_code == 200
    assert "template" in response.context["adminform"].form.errors
    rule.refresh_from_db()
    assert rule.template_id == before


def _filters(admin_client, url: str) -> set[str]:
    """The titles of the filters the changelist offers in its sidebar."""
    response = admin_client.get(url)
    assert response.status_code == 200
    return {str(spec.title) for spec in response.context["cl"].filter_specs}


def test_messages_are_filtered_by_workspace_status_and_rule_and_found_by_customer(admin_client):
    mine = ReminderMessageFactory(status="skipped", error="Customer opted out.")
    ReminderMessageFactory()
    mine.invoice.customer.name = "Comercial Andes SpA"
    mine.invoice.customer.save()
    url = reverse("admin:reminders_remindermessage_changelist")

    found = admin_client.get(url, {"q": mine.invoice.customer.name})

    assert {"workspace", "status", "rule", "test mode"} <= _filters(admin_client, url)
    assert [message.pk for message in found.context["cl"].result_list] == [mine.pk]
    assert "Customer opted out." in found.content.decode()


@pytest.mark.parametrize("factory", [ReminderTemplateFactory, ReminderRuleFactory])
def test_templates_and_rules_are_filtered_by_workspace(admin_client, factory):
    url = reverse(f"admin:reminders_{factory()._meta.model_name}_changelist")
    factory()  # in another workspace: a filter of one choice is not shown

    assert "workspace" in _filters(admin_client, url)
