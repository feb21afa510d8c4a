"""Cycles: what one cycle issues, the batch finalize against the single one, review mode,
billing_cycles, cancel at period end, and the database's at-most-once constraint."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from billing.errors import DomainError
from billing.models import DocumentType, Event, Workspace
from billing.tests.factories import FolioRangeFactory
from config.celery import app as celery_app
from invoices.models import Invoice
from invoices.pdf import storage
from invoices.representations import invoice_snapshot
from invoices.services.batch import InvoiceDraft, invoices_issue_batch
from invoices.services.batch_snapshots import invoice_batch_snapshot
from invoices.services.invoices import invoice_create, invoice_finalize
from invoices.services.notes import credit_note_create
from invoices.tasks import render_document_pdfs
from subscriptions import next_invoice, services, tasks
from subscriptions.choices import CollectionStatus, NeedsAttentionReason, SubscriptionStatus
from subscriptions.models import BilledPeriod, Subscription, SubscriptionLine
from subscriptions.services.cycles import cycle_bill, cycle_run, fixed_clock
from subscriptions.tests.factories import SubscriptionFactory
from subscriptions.tests.helpers import (
    customer_of,
    graduated_plan_of,
    invoice_rows,
    plan_of,
    santiago,
    subscribe,
    workspace_at,
)

pytestmark = pytest.mark.django_db
D = Decimal


def _lines() -> list[dict]:
    return [
        {"name": "Pro", "amount": D("10000.5"), "quantity": D(3), "discount": D(10)},
        {"name": "Soporte", "amount": D(4990), "quantity": D(1), "exempt": True},
        {"name": "Extra", "amount": D(1000), "quantity": D(2), "discount": D(150),
         "discount_scheme": "$"},
    ]  # fmt: skip


def _fields(invoice: Invoice) -> dict:
    ignored = {"id", "workspace", "created_at", "updated_at", "pdf"}
    return {k: v for k, v in model_to_dict(invoice).items() if k not in ignored} | {
        "finalized_at": invoice.finalized_at
    }


def _line_fields(invoice: Invoice) -> list[dict]:
    return [
        {k: v for k, v in model_to_dict(line).items() if k not in {"id", "invoice"}}
        for line in invoice.lines.order_by("position")
    ]


def test_a_batch_finalized_invoice_is_stored_as_a_singly_finalized_one() -> None:
    now = santiago(2026, 5, 1, 0, 0)
    workspace = workspace_at(now)
    customer = customer_of(workspace)
    terms = {"date": date(2026, 5, 1), "due_date": date(2026, 5, 11),
             "period_start": date(2026, 5, 1), "period_end": date(2026, 6, 1),
             "discount": D(5), "note": "Mayo", "subscription_id": "sub_X"}  # fmt: skip
    single = invoice_create(
        workspace=workspace, test_mode=True, customer=customer,
        document=DocumentType.objects.get(pk=33), lines=_lines(), **terms,
    )  # fmt: skip
    single = invoice_finalize(invoice=single, now=now)
    draft = Invoice(
        customer=customer, document=DocumentType.objects.get(pk=33), currency_id="CLP",
        tax_percent=D(19), **terms,
    )  # fmt: skip
    with transaction.atomic():
        [batch] = invoices_issue_batch(
            workspace=workspace, test_mode=True, drafts=[InvoiceDraft(draft, _lines())],
            finalize=True, now=now,
        )  # fmt: skip
    batch = Invoice.objects.get(pk=batch.pk)
    single = Invoice.objects.get(pk=single.pk)

    # The same stored state, but for the next number of the same sequence.
    assert (single.number, batch.number) == (1, 2)
    assert _fields(batch) | {"number": 1} == _fields(single)
    assert batch.status == "finalized" and batch.biller_status == "pending"
    assert _line_fields(batch) == _line_fields(single)
    # The event's cheap snapshot says what the serializer says.
    event = Event.objects.get(object_id=batch.id, type="invoice.finalized")
    rendered = invoice_snapshot(batch)
    built = invoice_batch_snapshot(batch, list(batch.lines.order_by("position")))
    assert event.data == built
    # All of it: a field the serializer gains must be added to the snapshot too.
    assert event.data == rendered
    assert list(built) == list(rendered)
    assert [list(line) for line in built["lines"]] == [list(line) for line in rendered["lines"]]


def test_a_cycle_invoice_announces_its_creation_and_its_finalize_as_a_single_one_does() -> None:
    now = santiago(2026, 5, 1, 9, 0)
    workspace = workspace_at(now)

    subscription = subscribe(workspace, now, [(plan_of(workspace), 1)])

    [invoice] = Invoice.objects.filter(subscription_id=subscription.id)
    events = list(Event.objects.filter(object_id=invoice.id).order_by("sequence"))
    assert [e.type for e in events] == ["invoice.created", "invoice.finalized"]
    assert [e.data["id"] for e in events] == [invoice.id, invoice.id]


def test_a_batch_finalized_invoice_with_nothing_due_is_paid_as_a_single_one_is() -> None:
    now = santiago(2026, 5, 1, 0, 0)
    workspace = workspace_at(now)
    free = [{"name": "Pro", "amount": D(10000), "quantity": D(1), "discount": D(100)}]
    draft = Invoice(
        customer=customer_of(workspace), document=DocumentType.objects.get(pk=33),
        currency_id="CLP", tax_percent=D(19), date=date(2026, 5, 1),
    )  # fmt: skip

    with transaction.atomic():
        [batch] = invoices_issue_batch(
            workspace=workspace, test_mode=True, drafts=[InvoiceDraft(draft, free)],
            finalize=True, now=now,
        )  # fmt: skip

    batch = Invoice.objects.get(pk=batch.pk)
    assert (batch.status, batch.paid_at, batch.total) == ("paid", now, D(0))
    assert Event.objects.filter(object_id=batch.id, type="invoice.paid").count() == 1


def test_a_batch_refuses_to_finalize_an_invoice_without_lines_as_a_single_finalize_does() -> None:
    now = santiago(2026, 5, 1, 0, 0)
    workspace = workspace_at(now)
    draft = Invoice(
        customer=customer_of(workspace), document=DocumentType.objects.get(pk=33),
        currency_id="CLP", tax_percent=D(19), date=date(2026, 5, 1), due_date=date(2026, 5, 11),
    )  # fmt: skip

    with pytest.raises(DomainError) as refused, transaction.atomic():
        invoices_issue_batch(
            workspace=workspace, test_mode=True, drafts=[InvoiceDraft(draft, [])],
            finalize=True, now=now,
        )  # fmt: skip

    assert refused.value.code == "invoice_without_lines"
    assert not Invoice.objects.filter(workspace=workspace).exists()


def test_each_cycle_issues_one_numbered_invoice_and_moves_on() -> None:
    now = santiago(2026, 1, 15, 10, 0)
    workspace = workspace_at(now)
    subscription = subscribe(workspace, now, [(plan_of(workspace, 10000), 1)], expiration_days=5)
    # Nothing else is due until Feb 15 (local midnight).
    eve = santiago(2026, 2, 14, 23, 59)
    assert cycle_run(clock=fixed_clock(eve), now=eve, workspace=workspace, test_mode=True) == 0
    feb = santiago(2026, 2, 15, 0, 0)
    assert cycle_run(clock=fixed_clock(feb), now=feb, workspace=workspace, test_mode=True) == 1
    # Run again at the same time: nothing more.
    assert cycle_run(clock=fixed_clock(feb), now=feb, workspace=workspace, test_mode=True) == 0
    assert invoice_rows(subscription) == [
        (1, date(2026, 1, 15), date(2026, 1, 15), date(2026, 2, 15), date(2026, 1, 20),
         D(10000), D(1900), D(11900)),
        (2, date(2026, 2, 15), date(2026, 2, 15), date(2026, 3, 15), date(2026, 2, 20),
         D(10000), D(1900), D(11900)),
    ]  # fmt: skip
    period = BilledPeriod.objects.get(subscription=subscription, cycle=2)
    assert period.collection_status == CollectionStatus.PENDING
    assert period.next_attempt_at == feb
    line = period.invoice.lines.get()
    assert line.description == "2026-02-15 – 2026-03-14"
    assert period.invoice.collection_method == "deferred"


def _queries_to_bill(count: int) -> int:
    now = santiago(2026, 1, 15, 10, 0)
    workspace = workspace_at(now)
    plans = [plan_of(workspace, 10000), graduated_plan_of(workspace)]
    for index in range(count):
        subscribe(workspace, now, [(plans[index % 2], 10 + index)])
    feb = santiago(2026, 2, 15, 0, 0)
    with CaptureQueriesContext(connection) as queries:
        assert cycle_run(clock=fixed_clock(feb), now=feb, workspace=workspace, test_mode=True) == (
            count
        )
    return len(queries)


def test_a_batch_bills_only_the_subscriptions_still_active_once_locked() -> None:
    now = santiago(2026, 1, 15, 10, 0)
    workspace = workspace_at(now)
    plan = plan_of(workspace, 10000)
    kept, paused = (subscribe(workspace, now, [(plan, 1)]) for _ in range(2))
    feb = santiago(2026, 2, 15, 0, 0)
    # Paused after the batch found both due, before it locked them.
    Subscription.objects.filter(pk=paused.pk).update(status=SubscriptionStatus.PAUSED)

    billed = cycle_bill(subscription_ids=[kept.pk, paused.pk], clock=fixed_clock(feb))

    assert [period.subscription_id for period in billed] == [kept.pk]
    assert len(invoice_rows(kept)) == 2 and len(invoice_rows(paused)) == 1
    paused.refresh_from_db()
    assert paused.status == SubscriptionStatus.PAUSED
    assert paused.next_billing == date(2026, 2, 15) and paused.cycles_billed == 1


def test_a_subscription_that_cannot_be_billed_needs_attention_and_its_batch_is_billed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = santiago(2026, 1, 15, 10, 0)
    workspace = workspace_at(now)
    plan = plan_of(workspace, 10000)
    first, broken, last = (subscribe(workspace, now, [(plan, 1)]) for _ in range(3))
    price = next_invoice.cycle_draft

    def failing_for_one(subscription: Subscription, **kwargs: object) -> object:
        if subscription.pk == broken.pk:
            raise ArithmeticError("a price beyond any column")
        return price(subscription, **kwargs)

    monkeypatch.setattr(next_invoice, "cycle_draft", failing_for_one)
    feb = santiago(2026, 2, 15, 0, 0)
    Workspace.objects.filter(pk=workspace.pk).update(test_clock_at=feb)

    billed = tasks.bill_subscriptions(subscription_ids=[first.pk, broken.pk, last.pk])

    assert billed == 2
    assert [len(invoice_rows(s)) for s in (first, broken, last)] == [2, 1, 2]
    broken.refresh_from_db()
    assert (broken.status, broken.needs_attention_reason, broken.needs_attention_at) == (
        SubscriptionStatus.NEEDS_ATTENTION, NeedsAttentionReason.PROCESSING_ISSUE, feb
    )  # fmt: skip
    assert broken.status_description == (
        "Its cycle could not be billed: an unexpected error (ArithmeticError); the server's "
        "log has it"
    )
    assert Event.objects.filter(object_id=broken.pk, type="subscription.needs_attention").exists()
    # Flagged, it is no longer due: the run ends.
    assert cycle_run(clock=fixed_clock(feb), now=feb, workspace=workspace, test_mode=True) == 0


def test_a_batch_costs_the_same_queries_whatever_its_size() -> None:
    # A query per subscription (a flat plan's tiers read one by one, say) makes a batch of
    # 500 cost 500 more round trips; the batch reads everything it prices up front.
    assert _queries_to_bill(8) == _queries_to_bill(2)


def test_a_batch_reads_its_customers_once_when_nothing_it_bills_is_metered() -> None:
    # An invoice is written with its customer's key; finalizing freezes what the invoice
    # shows of its customer, read for the whole batch in one query (only usage is counted
    # per customer).
    now = santiago(2026, 1, 15, 10, 0)
    workspace = workspace_at(now)
    plan = plan_of(workspace, 10000)
    subscriptions = [subscribe(workspace, now, [(plan, 1)]) for _ in range(3)]
    feb = santiago(2026, 2, 15, 0, 0)

    with CaptureQueriesContext(connection) as queries:
        cycle_run(clock=fixed_clock(feb), now=feb, workspace=workspace, test_mode=True)

    assert len([q for q in queries if '"customers_customer"' in q["sql"]]) == 1
    for subscription in subscriptions:
        invoices = Invoice.objects.filter(subscription_id=subscription.id).order_by("date")
        assert [invoice.customer_id for invoice in invoices] == [subscription.customer_id] * 2
        assert invoices[1].counterpart_snapshot["name"] == subscription.customer.name


def test_a_graduated_plan_bills_its_exact_tier_sum_rounded_once() -> None:
    # 1000 × 1 + 1000 + 9000 × 0.8 + 989 999 × 0.5 = 504 199.5 → 504 200 half-up. Priced
    # through its six-decimal average (0.5042 a unit) it would be 504 199.4958 → 504 199.
    now = santiago(2026, 1, 15, 10, 0)
    workspace = workspace_at(now)
    subscription = subscribe(workspace, now, [(graduated_plan_of(workspace), 999999)])
    feb = santiago(2026, 2, 15, 0, 0)
    cycle_run(clock=fixed_clock(feb), now=feb, workspace=workspace, test_mode=True)

    invoices = Invoice.objects.filter(subscription_id=subscription.id).order_by("period_start")
    # The first cycle is issued alone, the second by the batch: both price it the same.
    assert [(i.subtotal, i.tax, i.total) for i in invoices] == [
        (D(504200), D(95798), D(599998)),
        (D(504200), D(95798), D(599998)),
    ]
    line = invoices[0].lines.get()
    assert (line.quantity, line.amount, line.total) == (999999, D("0.5042"), D(504200))
    # A credit note that annuls the invoice mirrors its lines: the same exact price.
    note = credit_note_create(
        workspace=workspace, test_mode=True, invoice=invoices[0], reason=1, now=feb
    )
    assert (note.subtotal, note.total) == (D(504200), D(599998))


def test_review_mode_keeps_cycle_invoices_as_drafts() -> None:
    now = santiago(2026, 1, 15, 10, 0)
    workspace = workspace_at(now, review_cycle_invoices=True)
    subscription = subscribe(workspace, now, [(plan_of(workspace), 1)])
    [period] = BilledPeriod.objects.filter(subscription=subscription)
    assert period.invoice.status == "draft" and period.invoice.number is None
    assert period.collection_status == CollectionStatus.REVIEW
    assert period.invoice.total == D(11900)  # totals computed, as for any draft
    subscription.refresh_from_db()
    assert subscription.next_billing == date(2026, 2, 15)


def test_billing_cycles_finalize_the_subscription() -> None:
    now = santiago(2026, 1, 1, 10, 0)
    workspace = workspace_at(now)
    subscription = subscribe(workspace, now, [(plan_of(workspace), 1)], billing_cycles=2)
    later = santiago(2026, 6, 1, 0, 0)
    cycle_run(clock=fixed_clock(later), now=later, workspace=workspace, test_mode=True)
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.FINALIZED
    assert subscription.cycles_billed == 2 and subscription.next_billing is None
    assert len(invoice_rows(subscription)) == 2


def _events(subscription: Subscription) -> list[str]:
    return list(
        Event.objects.filter(object_id=subscription.id)
        .order_by("pk")
        .values_list("type", flat=True)
    )


def test_a_subscription_that_ends_its_billing_cycles_says_so_in_an_event() -> None:
    # Every status change is an event: a webhook learns that the subscription has ended,
    # whether its last invoice ends it or its next billing finds no cycle left.
    now = santiago(2026, 1, 1, 10, 0)
    workspace = workspace_at(now)
    at_last_invoice = subscribe(workspace, now, [(plan_of(workspace), 1)], billing_cycles=2)
    lowered = subscribe(workspace, now, [(plan_of(workspace), 1)], billing_cycles=5)
    services.subscription_update(subscription=lowered, now=now, billing_cycles=1)

    later = santiago(2026, 6, 1, 0, 0)
    cycle_run(clock=fixed_clock(later), now=later, workspace=workspace, test_mode=True)

    assert _events(at_last_invoice) == [
        "subscription.created", "subscription.invoiced", "subscription.invoiced",
        "subscription.finalized",
    ]  # fmt: skip
    assert _events(lowered) == [
        "subscription.created", "subscription.invoiced", "subscription.updated",
        "subscription.finalized",
    ]  # fmt: skip
    finalized = Event.objects.get(object_id=lowered.id, type="subscription.finalized")
    assert (finalized.data["status"], finalized.data["next_billing"]) == ("finalized", None)


def test_cancel_at_period_end_cancels_at_the_boundary_without_billing() -> None:
    now = santiago(2026, 1, 10, 10, 0)
    workspace = workspace_at(now)
    subscription = subscribe(workspace, now, [(plan_of(workspace), 1)])
    services.subscription_cancel(
        subscription=subscription, now=now + timedelta(days=3), cancel_reason="not_paid",
        at_period_end=True,
    )  # fmt: skip
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.cancel_at_period_end
    boundary = santiago(2026, 2, 10, 0, 0)
    cycle_run(clock=fixed_clock(boundary), now=boundary, workspace=workspace, test_mode=True)
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.cancelled_at == boundary
    assert subscription.cancel_reason == "not_paid"
    assert len(invoice_rows(subscription)) == 1
    assert Event.objects.filter(object_id=subscription.id, type="subscription.cancelled").exists()


def test_the_database_refuses_a_second_invoice_for_a_period() -> None:
    now = santiago(2026, 1, 10, 10, 0)
    workspace = workspace_at(now)
    subscription = subscribe(workspace, now, [(plan_of(workspace), 1)])
    period = BilledPeriod.objects.get(subscription=subscription)
    other = invoice_create(
        workspace=workspace, test_mode=True, customer=subscription.customer,
        document=subscription.document, date=period.period_start,
        lines=[{"name": "x", "amount": D(1)}],
    )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        BilledPeriod.objects.create(
            subscription=subscription, cycle=2, period_start=period.period_start,
            period_end=period.period_end, invoice=other,
        )  # fmt: skip


def test_a_batch_queues_its_pdfs_a_chunk_per_task(  # type: ignore[no-untyped-def]
    monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(storage, "PDF_RENDER_CHUNK", 2)
    now = santiago(2026, 5, 1, 0, 0)
    workspace = workspace_at(now)
    customer = customer_of(workspace)
    drafts = [
        InvoiceDraft(
            Invoice(
                customer=customer,
                document=DocumentType.objects.get(pk=33),
                currency_id="CLP",
                tax_percent=D(19),
                date=date(2026, 5, 1),
            ),
            _lines(),
        )
        for _ in range(5)
    ]
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        invoices = invoices_issue_batch(
            workspace=workspace, test_mode=True, drafts=drafts, finalize=True, now=now
        )
    assert not any(
        Invoice.objects.filter(pk__in=[i.pk for i in invoices]).values_list("pdf", flat=True)
    )

    queued: list[list[str]] = []
    real_send = render_document_pdfs.apply_async
    monkeypatch.setattr(
        render_document_pdfs, "apply_async",
        lambda kwargs, **options: (
            queued.append(kwargs["document_ids"]), real_send(kwargs=kwargs, **options)
        )[1],
    )  # fmt: skip
    renders = [c for c in callbacks if c.__qualname__.startswith("documents_pdf_schedule")]
    celery_app.conf.task_always_eager = True  # the queued renders run here, in order
    try:
        for callback in renders:
            callback()
    finally:
        celery_app.conf.task_always_eager = False

    assert [len(chunk) for chunk in queued] == [2, 2, 1]
    stored = Invoice.objects.filter(pk__in=[i.pk for i in invoices])
    assert all(invoice.pdf.name.endswith(".pdf") for invoice in stored)


@pytest.mark.django_db
def test_subscriptions_and_lines_load_as_their_constructors_load_them() -> None:
    made = SubscriptionFactory(note="Año", references=[{"code": "801"}], metadata={"k": "v"})
    for model, rows in [
        (Subscription, Subscription.objects.filter(pk=made.pk)),
        (SubscriptionLine, SubscriptionLine.objects.filter(subscription=made)),
    ]:
        names = [field.attname for field in model._meta.concrete_fields]
        values = rows.values_list(*names).get()
        constructed = Model.from_db.__func__(model, "default", names, values)  # type: ignore[attr-defined]

        loaded = rows.get()

        assert {**vars(loaded), "_state": None} == {**vars(constructed), "_state": None}
        assert not loaded._state.adding and loaded._state.db == "default"
    # A partial row goes through the constructor: the rest is read when asked for.
    assert Subscription.objects.only("id").get(pk=made.pk).references == [{"code": "801"}]


def test_a_batch_takes_the_folios_left_in_a_caf_before_the_next_one() -> None:
    # A cycle's invoices of one type are numbered together; the folios left at the end
    # of a CAF are the next ones due, so skipping them would leave a hole in the SII's
    # sequence that only an annulment of folios could close.
    now = santiago(2026, 1, 15, 10, 0)
    workspace = workspace_at(now)
    plan = plan_of(workspace, 10000)
    subscriptions = [subscribe(workspace, now, [(plan, 1)]) for _ in range(4)]
    scope = {"workspace": workspace, "test_mode": True, "authorized_on": date(2026, 1, 10)}
    FolioRangeFactory(**scope, first=5, last=6)
    FolioRangeFactory(**scope, first=20, last=30)
    feb = santiago(2026, 2, 15, 0, 0)

    assert cycle_run(clock=fixed_clock(feb), now=feb, workspace=workspace, test_mode=True) == 4

    numbers = sorted(invoice_rows(s)[1][0] for s in subscriptions)
    assert numbers == [5, 6, 20, 21]
