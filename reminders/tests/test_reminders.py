"""Dunning: templates with placeholders, rules by days from the due date, the pendings
they will send, and beat sending each reminder once."""

import threading
from datetime import timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.db import connection
from django.utils import timezone

from billing.clock import workspace_today
from billing.models import Workspace
from customers.tests.factories import ContactFactory, CustomerFactory
from invoices.tests.factories import InvoiceFactory
from reminders import services
from reminders.models import ReminderMessage, ReminderRule
from reminders.services import reminders_send_due
from reminders.tests.factories import (
    ReminderMessageFactory,
    ReminderRuleFactory,
    ReminderTemplateFactory,
)
from tests.conftest import make_tenant


def _clock(days_ahead: int):  # type: ignore[no-untyped-def]
    """A clock `days_ahead` days from now, for every workspace."""
    return lambda **_: timezone.now() + timedelta(days=days_ahead)


def _invoice(workspace, *, due_in: int, **fields):  # type: ignore[no-untyped-def]
    today = workspace_today(workspace, timezone.now())
    customer = fields.pop("customer", None) or CustomerFactory(
        workspace=workspace, email="pagos@andes.cl"
    )
    return InvoiceFactory(
        workspace=workspace,
        customer=customer,
        status=fields.pop("status", "finalized"),
        number=fields.pop("number", 1),
        due_date=today + timedelta(days=due_in),
        **fields,
    )


@pytest.mark.django_db
class TestApi:
    def test_a_template_with_placeholders_and_a_rule_using_it(self, tenant):
        template = tenant.client.post(
            "/reminders/templates/",
            {
                "name": "Antes del vencimiento",
                "language": "es",
                "subject": "Factura {number} vence el {due_date}",
                "body": "Estimado(a) {customer_name}: quedan {amount_due}. {{no es un campo}}",
            },
            format="json",
        )
        rule = tenant.client.post(
            "/reminders/rules/",
            {"name": "3 días antes", "days": -3, "template": template.json()["id"],
             "documents": [33]},
            format="json",
        )  # fmt: skip
        renamed = tenant.client.put(
            f"/reminders/rules/{rule.json()['id']}/", {"name": "Tres días antes"}, format="json"
        )

        assert template.status_code == 201, template.json()
        assert rule.status_code == 201, rule.json()
        assert (rule.json()["days"], rule.json()["documents"]) == (-3, [33])
        assert (renamed.json()["name"], renamed.json()["days"]) == ("Tres días antes", -3)

    @pytest.mark.parametrize(
        ("subject", "message"),
        [
            ("Factura {numero}", "Unknown placeholder {numero}"),
            ("Factura {number.__class__}", "Unknown placeholder {number.__class__}"),
            ("Factura {number", "brace"),
        ],
    )
    def test_a_template_with_a_bad_placeholder_is_400(self, tenant, subject, message):
        response = tenant.client.post(
            "/reminders/templates/",
            {"name": "Mala", "subject": subject, "body": "Hola"},
            format="json",
        )

        assert response.status_code == 400
        assert message in response.json()["subject"][0]

    @pytest.mark.parametrize("subject", ["Factura {number}\nBcc: x@y.cl", "Factura\r{number}"])
    def test_a_subject_with_a_line_break_is_400(self, tenant, subject):
        template = ReminderTemplateFactory(workspace=tenant.workspace)

        created = tenant.client.post(
            "/reminders/templates/", {"name": "Mala", "subject": subject, "body": "b"},
            format="json",
        )  # fmt: skip
        updated = tenant.client.put(
            f"/reminders/templates/{template.id}/", {"subject": subject}, format="json"
        )

        assert (created.status_code, list(created.json())) == (400, ["subject"])
        assert (updated.status_code, list(updated.json())) == (400, ["subject"])
        assert "line break" in created.json()["subject"][0]

    @pytest.mark.parametrize(
        "body",
        [
            "Hola {customer_name:d}",
            "Factura {number:>99999999}",
            "Factura {number!r}",
            "Factura {number[0]}",
            "Factura {number.real}",
        ],
    )
    def test_a_template_whose_placeholder_is_more_than_a_name_is_400(self, tenant, body):
        template = ReminderTemplateFactory(workspace=tenant.workspace)

        created = tenant.client.post(
            "/reminders/templates/", {"name": "Mala", "subject": "s", "body": body}, format="json"
        )
        updated = tenant.client.put(
            f"/reminders/templates/{template.id}/", {"body": body}, format="json"
        )

        assert (created.status_code, list(created.json())) == (400, ["body"])
        assert (updated.status_code, list(updated.json())) == (400, ["body"])
        template.refresh_from_db()
        assert template.body == ReminderTemplateFactory.body

    # 46 factura de compra (a purchase), 61 nota de crédito: no invoice is of either type,
    # so the rule would never remind.
    @pytest.mark.parametrize("document", [46, 61])
    def test_a_rule_for_a_type_no_invoice_has_is_400(self, tenant, document):
        template = ReminderTemplateFactory(workspace=tenant.workspace)

        response = tenant.client.post(
            "/reminders/rules/",
            {"name": "Nunca", "days": 0, "template": template.id, "documents": [33, document]},
            format="json",
        )

        assert response.status_code == 400, response.json()
        assert "documents" in response.json()

    @pytest.mark.parametrize("days", [-61, 366])
    def test_days_out_of_range_are_400(self, tenant, days):
        template = ReminderTemplateFactory(workspace=tenant.workspace)

        response = tenant.client.post(
            "/reminders/rules/",
            {"name": "Fuera", "days": days, "template": template.id},
            format="json",
        )

        assert response.status_code == 400
        assert "days" in response.json()

    def test_pendings_list_what_the_rules_will_send_and_when(self, tenant):
        rule = ReminderRuleFactory(workspace=tenant.workspace, days=-3)
        due = _invoice(tenant.workspace, due_in=5)
        _invoice(tenant.workspace, due_in=5, number=2, status="paid")
        _invoice(tenant.workspace, due_in=5, number=3, status="draft")

        response = tenant.client.get("/reminders/pendings/")

        assert response.status_code == 200, response.json()
        [pending] = response.json()["results"]
        assert (pending["rule"], pending["invoice"]) == (rule.id, due.id)
        assert pending["send_date"] == str(due.due_date - timedelta(days=3))
        assert Decimal(str(pending["amount_due"])) == due.total_adjusted

    def test_pendings_are_filtered_by_rule_invoice_customer_and_send_date(self, tenant):
        rule = ReminderRuleFactory(workspace=tenant.workspace, days=-3)
        other_rule = ReminderRuleFactory(workspace=tenant.workspace, days=1)
        soon = _invoice(tenant.workspace, due_in=5)
        later = _invoice(tenant.workspace, due_in=20, number=2)

        def listed(query: dict[str, str]) -> set[tuple[str, str]]:
            response = tenant.client.get("/reminders/pendings/", query)
            assert response.status_code == 200, response.json()
            return {(p["rule"], p["invoice"]) for p in response.json()["results"]}

        assert listed({"rule": rule.id}) == {(rule.id, soon.id), (rule.id, later.id)}
        assert listed({"invoice": soon.id}) == {(rule.id, soon.id), (other_rule.id, soon.id)}
        assert listed({"customer": later.customer_id, "rule": other_rule.id}) == {
            (other_rule.id, later.id)
        }
        first_send = str(soon.due_date - timedelta(days=3))
        assert listed({"send_date__lte": first_send}) == {(rule.id, soon.id)}
        assert listed({"send_date__between": f"{first_send},{first_send}"}) == {(rule.id, soon.id)}
        assert len(listed({"send_date__gt": first_send})) == 3
        bad = tenant.client.get("/reminders/pendings/", {"send_date__gte": "soon"})
        unknown = tenant.client.get("/reminders/pendings/", {"due": "x"})
        assert (bad.status_code, list(bad.json())) == (400, ["send_date__gte"])
        assert unknown.json() == {"due": ["Unknown filter."]}

    def test_pendings_of_an_id_the_caller_has_not_are_a_404_as_messages_are(
        self, tenant, other_tenant
    ):
        theirs = _invoice(other_tenant.workspace, due_in=5)
        for name, value in [("rule", "rmr_unknown"), ("invoice", theirs.id), ("customer", "x")]:
            pendings = tenant.client.get("/reminders/pendings/", {name: value})
            assert (pendings.status_code, name) == (404, name), pendings.json()
        for name, value in [("rule", "rmr_unknown"), ("invoice", theirs.id)]:
            messages = tenant.client.get("/reminders/messages/", {name: value})
            assert (messages.status_code, name) == (404, name), messages.json()

    def test_a_rule_that_sent_reminders_is_kept(self, tenant):
        rule = ReminderRuleFactory(workspace=tenant.workspace, days=0)
        _invoice(tenant.workspace, due_in=0)
        reminders_send_due(clock=_clock(0))

        deleted = tenant.client.delete(f"/reminders/rules/{rule.id}/")
        template = tenant.client.delete(f"/reminders/templates/{rule.template_id}/")

        assert (deleted.status_code, deleted.json()["code"]) == (409, "reminder_rule_in_use")
        assert (template.status_code, template.json()["code"]) == (
            409,
            "reminder_template_in_use",
        )


@pytest.mark.django_db
def test_beat_sends_a_due_reminder_once_to_the_collections_contacts(tenant):
    ReminderRuleFactory(workspace=tenant.workspace, days=-3)
    customer = CustomerFactory(workspace=tenant.workspace, name="Andes SpA", email="a@andes.cl")
    ContactFactory(customer=customer, workspace=tenant.workspace, email="cobranza@andes.cl",
                   collections=True)  # fmt: skip
    invoice = _invoice(tenant.workspace, due_in=5, customer=customer, number=41)

    early = reminders_send_due(clock=_clock(1))  # 4 days before the due date: not yet
    sent = reminders_send_due(clock=_clock(2))  # 3 days before: its day
    again = reminders_send_due(clock=_clock(3))

    assert (early, sent, again) == (0, 1, 0)
    [email] = mail.outbox
    assert email.to == ["cobranza@andes.cl"]
    assert email.subject == f"Factura 41 vence el {invoice.due_date:%d-%m-%Y}"
    assert "Estimado(a) Andes SpA" in email.body
    message = ReminderMessage.objects.get(invoice=invoice)
    assert (message.status, message.recipients) == ("sent", ["cobranza@andes.cl"])
    assert tenant.client.get("/reminders/pendings/").json()["results"] == []
    listed = tenant.client.get("/reminders/messages/", {"invoice": invoice.id}).json()
    assert [m["status"] for m in listed["results"]] == ["sent"]


@pytest.mark.django_db
def test_a_template_that_does_not_render_fails_its_reminders_and_no_others(tenant):
    # A template stored before templates were checked, in another workspace.
    other = make_tenant()
    broken = ReminderRuleFactory(
        workspace=other.workspace, days=0, template__body="Hola {customer_name:d}"
    )
    broken_invoice = _invoice(other.workspace, due_in=0)
    ReminderRuleFactory(workspace=tenant.workspace, days=0)
    invoice = _invoice(tenant.workspace, due_in=0)

    count = reminders_send_due(clock=_clock(0))

    assert count == 2
    [email] = mail.outbox
    assert email.body.startswith(f"Estimado(a) {invoice.customer.name}:")
    assert ReminderMessage.objects.get(invoice=invoice).status == "sent"
    failed = ReminderMessage.objects.get(invoice=broken_invoice)
    assert (failed.status, failed.body) == ("failed", "Hola {customer_name:d}")
    assert broken.template_id in failed.error and "{customer_name}" in failed.error


@pytest.mark.django_db
def test_a_reminder_that_raises_is_logged_and_the_others_are_sent(tenant, monkeypatch, caplog):
    ReminderRuleFactory(workspace=tenant.workspace, days=0)
    failing = _invoice(tenant.workspace, due_in=0, number=1)
    sent = _invoice(tenant.workspace, due_in=0, number=2)
    recipients = services.customer_collection_recipients

    def recipients_failing_once(*, customer):  # type: ignore[no-untyped-def]
        if customer == failing.customer:
            raise RuntimeError("contacts unreadable")
        return recipients(customer=customer)

    monkeypatch.setattr(services, "customer_collection_recipients", recipients_failing_once)

    count = reminders_send_due(clock=_clock(0))

    assert count == 1
    assert ReminderMessage.objects.get().invoice_id == sent.id
    assert "contacts unreadable" in caplog.text


@pytest.mark.django_db
def test_a_customer_without_collection_emails_is_not_reminded(tenant):
    ReminderRuleFactory(workspace=tenant.workspace, days=0)
    customer = CustomerFactory(workspace=tenant.workspace, email="a@andes.cl",
                               send_collections=False)  # fmt: skip
    _invoice(tenant.workspace, due_in=0, customer=customer)

    assert reminders_send_due(clock=_clock(0)) == 0
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_beat_runs_at_once_send_each_reminder_once():
    tenant = make_tenant()
    ReminderRuleFactory(workspace=tenant.workspace, days=0)
    for number in range(1, 11):
        _invoice(tenant.workspace, due_in=0, number=number)
    start = threading.Barrier(3)
    counts: list[int] = []

    def run() -> None:
        try:
            start.wait()
            counts.append(reminders_send_due(clock=_clock(0)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(counts) == 10
    assert len(mail.outbox) == 10
    assert ReminderMessage.objects.filter(workspace=tenant.workspace).count() == 10


@pytest.mark.django_db
def test_a_sent_reminder_takes_metadata_but_keeps_what_was_sent(tenant):
    ReminderRuleFactory(workspace=tenant.workspace, days=0)
    _invoice(tenant.workspace, due_in=0)
    reminders_send_due(clock=_clock(0))
    message = ReminderMessage.objects.get(workspace=tenant.workspace)

    tagged = tenant.client.put(
        f"/reminders/messages/{message.id}/", {"metadata": {"crm": "9"}}, format="json"
    )
    rewritten = tenant.client.put(
        f"/reminders/messages/{message.id}/", {"subject": "Otro"}, format="json"
    )

    assert tagged.status_code == 200, tagged.json()
    assert tagged.json()["metadata"] == {"crm": "9"}
    message.refresh_from_db()
    assert (message.subject, message.metadata) == (tagged.json()["subject"], {"crm": "9"})
    assert rewritten.status_code == 200  # read-only fields in a PUT are ignored
    assert ReminderMessage.objects.get(pk=message.pk).subject != "Otro"


@pytest.mark.django_db
def test_an_email_that_cannot_be_sent_fails_its_message_with_the_reason(tenant, monkeypatch):
    ReminderRuleFactory(workspace=tenant.workspace, days=0)
    invoice = _invoice(tenant.workspace, due_in=0)

    def refuse(self):  # type: ignore[no-untyped-def]
        raise ValueError("Header values can't contain newlines")

    monkeypatch.setattr(EmailMessage, "send", refuse)

    count = reminders_send_due(clock=_clock(0))

    assert count == 1
    message = ReminderMessage.objects.get(invoice=invoice)
    assert (message.status, message.error) == ("failed", "Header values can't contain newlines")


@pytest.mark.django_db
def test_a_line_break_in_a_placeholder_value_keeps_the_subject_on_one_line(tenant):
    ReminderRuleFactory(
        workspace=tenant.workspace, days=0, template__subject="Cobro a {customer_name}"
    )
    customer = CustomerFactory(workspace=tenant.workspace, name="Andes\nSpA", email="a@andes.cl")
    _invoice(tenant.workspace, due_in=0, customer=customer)

    reminders_send_due(clock=_clock(0))

    [email] = mail.outbox
    assert email.subject == "Cobro a Andes SpA"
    assert ReminderMessage.objects.get().status == "sent"


@pytest.mark.django_db
def test_an_invoice_finalized_after_its_reminder_day_is_not_reminded_for_that_day(tenant):
    # Rules set up a month ago; an invoice issued today that fell due three days ago.
    before, on_day, after = (ReminderRuleFactory(workspace=tenant.workspace, days=days)
                             for days in (-3, 0, 5))  # fmt: skip
    ReminderRule.objects.update(started_at=timezone.now() - timedelta(days=30))
    invoice = _invoice(tenant.workspace, due_in=-3, finalized_at=timezone.now())

    pendings = tenant.client.get("/reminders/pendings/").json()["results"]
    sent_today = reminders_send_due(clock=_clock(0))

    # Only the reminder whose day is still to come: the others' days passed before the
    # invoice was issued.
    assert [(p["rule"], p["invoice"]) for p in pendings] == [(after.id, invoice.id)]
    assert (sent_today, mail.outbox) == (0, [])
    assert reminders_send_due(clock=_clock(2)) == 1
    assert ReminderMessage.objects.get().rule_id == after.id
    assert before.id and on_day.id  # created, and never sent


@pytest.mark.django_db
def test_a_rule_created_on_the_test_clock_does_not_remind_days_before_it():
    tenant = make_tenant(test_mode=True)
    invoice = _invoice(tenant.workspace, due_in=10, test_mode=True, finalized_at=timezone.now())
    clock_at = timezone.now() + timedelta(days=30)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(test_clock_at=clock_at)
    template = ReminderTemplateFactory(workspace=tenant.workspace, test_mode=True)

    created = tenant.client.post(
        "/reminders/rules/",
        {"name": "Al vencer", "days": 0, "template": template.id},
        format="json",
    )

    # The invoice fell due twenty days before the rule was created, on the workspace's
    # clock: the new rule does not dun it.
    assert created.status_code == 201, created.json()
    assert tenant.client.get("/reminders/pendings/").json()["results"] == []
    assert reminders_send_due(clock=lambda **_: clock_at) == 0
    assert not ReminderMessage.objects.filter(invoice=invoice).exists()


@pytest.mark.django_db
def test_a_rule_switched_back_on_does_not_remind_the_days_it_was_off():
    tenant = make_tenant(test_mode=True)
    template = ReminderTemplateFactory(workspace=tenant.workspace, test_mode=True)
    rule = tenant.client.post(
        "/reminders/rules/",
        {"name": "Al vencer", "days": 0, "template": template.id},
        format="json",
    ).json()
    tenant.client.put(f"/reminders/rules/{rule['id']}/", {"active": False}, format="json")
    missed = _invoice(
        tenant.workspace, due_in=5, test_mode=True, number=1, finalized_at=timezone.now()
    )
    coming = _invoice(
        tenant.workspace, due_in=20, test_mode=True, number=2, finalized_at=timezone.now()
    )
    Workspace.objects.filter(pk=tenant.workspace.pk).update(
        test_clock_at=timezone.now() + timedelta(days=10)
    )

    switched = tenant.client.put(f"/reminders/rules/{rule['id']}/", {"active": True}, format="json")

    assert switched.status_code == 200, switched.json()
    pendings = tenant.client.get("/reminders/pendings/").json()["results"]
    assert [p["invoice"] for p in pendings] == [coming.id]
    assert missed.id


@pytest.mark.django_db
def test_one_mailbox_named_twice_by_collections_contacts_is_reminded_once(tenant):
    ReminderRuleFactory(workspace=tenant.workspace, days=0)
    customer = CustomerFactory(workspace=tenant.workspace, email="a@andes.cl")
    for email in ("cobranza@andes.cl", "Cobranza@Andes.cl", "tesoreria@andes.cl"):
        ContactFactory(customer=customer, workspace=tenant.workspace, email=email,
                       collections=True)  # fmt: skip
    _invoice(tenant.workspace, due_in=0, customer=customer)

    assert reminders_send_due(clock=_clock(0)) == 1

    [email] = mail.outbox
    assert email.to == ["cobranza@andes.cl", "tesoreria@andes.cl"]


@pytest.mark.django_db
def test_a_reminder_is_answered_to_the_workspace_and_dated_on_its_clock():
    tenant = make_tenant(test_mode=True)
    Workspace.objects.filter(pk=tenant.workspace.pk).update(email="cobranza@demo.cl")
    ReminderRuleFactory(workspace=tenant.workspace, test_mode=True, days=0)
    _invoice(tenant.workspace, due_in=0, test_mode=True)
    sent_at = timezone.now().replace(microsecond=0)

    assert reminders_send_due(clock=lambda **_: sent_at) == 1

    # The customer's reply reaches the workspace that dunned it, as an invoice's does,
    # not the platform's sending address.
    [email] = mail.outbox
    assert email.reply_to == ["cobranza@demo.cl"]
    assert email.extra_headers["Date"] == format_datetime(sent_at)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rule_days", "sent_on", "days"),
    [
        (-3, 2, "3"),  # on its day: three days before the due date
        (5, 12, "7"),  # a late run (beat was down two days): seven days overdue, not five
        (0, 5, "0"),
    ],
)
def test_days_in_a_reminder_are_the_invoices_days_on_the_day_it_is_sent(
    tenant, rule_days, sent_on, days
):
    ReminderRuleFactory(
        workspace=tenant.workspace, days=rule_days, template__subject="Factura {number}: {days}"
    )
    _invoice(tenant.workspace, due_in=5, number=7)

    assert reminders_send_due(clock=_clock(sent_on)) == 1

    [email] = mail.outbox
    assert email.subject == f"Factura 7: {days}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("customer_fields", "reason"),
    [
        ({"email": ""}, "has no email"),
        ({"email": "a@andes.cl", "send_collections": False}, "opted out"),
    ],
)
def test_a_reminder_with_no_one_to_go_to_is_skipped_with_its_reason_not_kept_pending(
    tenant, customer_fields, reason
):
    ReminderRuleFactory(workspace=tenant.workspace, days=0)
    customer = CustomerFactory(workspace=tenant.workspace, **customer_fields)
    invoice = _invoice(tenant.workspace, due_in=0, customer=customer)

    count = reminders_send_due(clock=_clock(0))
    again = reminders_send_due(clock=_clock(1))

    assert (count, again, mail.outbox) == (0, 0, [])
    assert tenant.client.get("/reminders/pendings/").json()["results"] == []
    listed = tenant.client.get("/reminders/messages/", {"status": "skipped"}).json()["results"]
    [message] = listed
    assert (message["invoice"], message["recipients"], message["sent_at"]) == (invoice.id, [], None)
    assert reason in message["error"]


@pytest.mark.django_db
def test_messages_are_listed_by_several_statuses_and_by_customer(tenant, other_tenant):
    rule = ReminderRuleFactory(workspace=tenant.workspace)
    sent, failed, skipped = (
        ReminderMessageFactory(workspace=tenant.workspace, rule=rule, status=status)
        for status in ("sent", "failed", "skipped")
    )

    several = tenant.client.get("/reminders/messages/?status__in=sent,failed&ordering=created")
    unknown = tenant.client.get("/reminders/messages/?status__in=sent,lost")
    by_customer = tenant.client.get(f"/reminders/messages/?customer={failed.invoice.customer_id}")
    foreign = CustomerFactory(workspace=other_tenant.workspace)
    other = tenant.client.get(f"/reminders/messages/?customer={foreign.id}")

    assert several.status_code == 200, several.json()
    assert [m["id"] for m in several.json()["results"]] == [sent.id, failed.id]
    assert unknown.status_code == 400
    assert "status__in" in unknown.json()
    assert [m["id"] for m in by_customer.json()["results"]] == [failed.id]
    assert skipped.id and other.status_code == 404


@pytest.mark.django_db
def test_messages_are_ordered_by_when_they_were_sent(tenant):
    rule = ReminderRuleFactory(workspace=tenant.workspace)
    now = timezone.now()
    later, earlier = (
        ReminderMessageFactory(workspace=tenant.workspace, rule=rule, sent_at=at)
        for at in (now, now - timedelta(days=2))
    )

    ordered = tenant.client.get("/reminders/messages/?ordering=sent_at")
    reversed_ = tenant.client.get("/reminders/messages/?ordering=-sent_at")

    assert ordered.status_code == 200, ordered.json()
    assert [m["id"] for m in ordered.json()["results"]] == [earlier.id, later.id]
    assert [m["id"] for m in reversed_.json()["results"]] == [later.id, earlier.id]
