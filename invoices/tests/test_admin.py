"""G11 in the back-office: a finalized document's admin form, lines and delete are refused.
Drafts change through the same service as the API; actions call the services."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from billing.choices import BillerStatus
from billing.errors import InvalidInput
from billing.models import DocumentType
from customers.tests.factories import CustomerFactory
from invoices.models import CreditNote, DebitNote, Invoice, Order
from invoices.services.invoices import invoice_create, invoice_finalize
from invoices.tests.pdf_helpers import (
    NOW,
    make_draft,
    make_finalized_note,
    make_issuer,
    make_note,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def admin_client(db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def draft(tenant):
    make_issuer(tenant.workspace)
    return make_draft(tenant.workspace)


@pytest.fixture
def finalized(draft):
    return invoice_finalize(invoice=draft, now=NOW)


def url(document, view="change"):
    opts = document._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[document.pk])


def snapshot(document):
    document.refresh_from_db()
    lines = [model_to_dict(line) for line in document.lines.order_by("position", "id")]
    return {**model_to_dict(document), "updated_at": document.updated_at}, lines


def change_form_data(document):
    """What a browser would POST: every field changed, a line edited, one added, one deleted."""
    lines = list(document.lines.order_by("position", "id"))
    data = {
        "date": "2027-01-01",
        "due_date": "2027-02-01",
        "note": "changed",
        "description": "x",
        "discount": "50",
        "discount_scheme": "%",
        "custom_change": "2",
        "metadata": '{"a": "b"}',
        "references": "[]",
        "collection_method": "automatically",
        "number": "99",
        "status": "draft",
        "total": "1",
        "lines-TOTAL_FORMS": str(len(lines) + 1),
        "lines-INITIAL_FORMS": str(len(lines)),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    rows = [{"id": line.pk, "name": "changed", "quantity": "7", "amount": "1"} for line in lines]
    rows.append({"name": "added", "quantity": "2", "amount": "5"})
    for index, row in enumerate(rows):
        row |= {"discount": "0", "discount_scheme": "%", "retention_percent": "0"}
        data |= {f"lines-{index}-{name}": value for name, value in row.items()}
        data[f"lines-{index}-position"] = index
    data["lines-0-DELETE"] = "on"
    return data


@pytest.fixture(params=[Invoice, CreditNote, DebitNote], ids=lambda model: model.__name__)
def issued(request, finalized):
    if request.param is Invoice:
        return finalized
    return make_finalized_note(request.param, finalized)


def test_a_finalized_document_is_shown_read_only(admin_client, issued):
    response = admin_client.get(url(issued))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="note"' not in html
    assert 'name="lines-0-name"' not in html
    assert 'name="_save"' not in html and 'class="closelink"' in html
    assert issued.lines.first().name in html


def test_a_post_to_a_finalized_change_form_changes_nothing(admin_client, issued):
    before = snapshot(issued)

    response = admin_client.post(url(issued), change_form_data(issued))

    assert response.status_code == 403
    assert snapshot(issued) == before


def test_a_finalized_document_cannot_be_deleted(admin_client, issued):
    before = snapshot(issued)
    changelist = reverse(f"admin:invoices_{issued._meta.model_name}_changelist")

    assert admin_client.get(url(issued, "delete")).status_code == 403
    assert admin_client.post(url(issued, "delete"), {"post": "yes"}).status_code == 403
    bulk = admin_client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [issued.pk], "post": "yes"},
    )

    assert bulk.status_code == 403
    assert type(issued).objects.filter(pk=issued.pk).exists()
    assert snapshot(issued) == before


def test_there_is_no_add_form(admin_client):
    for model in ("invoice", "creditnote", "debitnote", "order"):
        assert admin_client.get(reverse(f"admin:invoices_{model}_add")).status_code == 403


def test_a_draft_is_edited_through_the_service_and_keeps_server_totals(admin_client, draft):
    data = change_form_data(draft)

    response = admin_client.post(url(draft), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    draft.refresh_from_db()
    assert draft.note == "changed"
    assert draft.number is None and draft.status == "draft"  # read-only fields ignored
    names = sorted(draft.lines.values_list("name", flat=True))
    assert names == ["added", "changed", "changed"]
    # custom_change 2: 2 lines × 7 × 1 × 2 + 2 × 5 × 2 = 48; −50% = 24: the service's
    # totals, not the posted "1".
    assert draft.subtotal == Decimal(24)
    assert draft.total == draft.subtotal + draft.tax


def test_a_draft_with_an_impossible_line_is_refused_with_the_reason(admin_client, draft):
    data = change_form_data(draft)
    data["lines-1-discount_scheme"] = "$"
    data["lines-1-discount"] = "1000"

    response = admin_client.post(url(draft), data)

    assert response.status_code == 200  # the form again, with the error
    assert "The discount exceeds the line." in response.content.decode()
    draft.refresh_from_db()
    assert draft.note != "changed"


@pytest.mark.parametrize(
    ("field", "value"),
    [("tax_percent", "-19"), ("tax_percent", "150"), ("retention_percent", "150")],
)
def test_a_draft_line_with_an_out_of_range_percent_is_refused(admin_client, draft, field, value):
    data = change_form_data(draft)
    data[f"lines-1-{field}"] = value

    response = admin_client.post(url(draft), data)

    assert response.status_code == 200  # the form again, with the error
    assert "between 0 and 100" in response.content.decode()
    draft.refresh_from_db()
    assert draft.note != "changed"


def test_finalize_refuses_a_stored_line_with_an_out_of_range_percent(draft):
    draft.lines.filter(exempt=False).update(tax_percent=Decimal(-19))

    with pytest.raises(InvalidInput) as refused:
        invoice_finalize(invoice=draft, now=NOW)

    assert any(key.endswith(".tax_percent") for key in refused.value.errors)
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.number is None


def test_a_draft_can_be_deleted(admin_client, draft):
    response = admin_client.post(url(draft, "delete"), {"post": "yes"})

    assert response.status_code == 302
    assert not Invoice.objects.filter(pk=draft.pk).exists()


def run_action(admin_client, action, *invoices):
    return admin_client.post(
        reverse("admin:invoices_invoice_changelist"),
        {"action": action, "_selected_action": [invoice.pk for invoice in invoices]},
        follow=True,
    )


def test_the_finalize_action_numbers_the_draft(admin_client, draft):
    response = run_action(admin_client, "finalize", draft)

    draft.refresh_from_db()
    assert draft.status == "finalized" and draft.number == 1
    assert "Finalized: 1 of 1." in response.content.decode()


def test_the_finalize_action_reports_what_it_refused(admin_client, finalized):
    response = run_action(admin_client, "finalize", finalized)

    assert "only drafts and pending invoices finalize" in response.content.decode()


def test_the_toggle_and_send_actions(admin_client, finalized):
    run_action(admin_client, "toggle_uncollectible", finalized)
    finalized.refresh_from_db()
    assert finalized.status == "uncollectible"
    run_action(admin_client, "toggle_uncollectible", finalized)

    run_action(admin_client, "send", finalized)

    [message] = mail.outbox
    assert message.to == ["pagos@losaromos.cl"]
    assert message.attachments[0][2] == "application/pdf"


def test_actions_on_a_test_mode_invoice_stamp_the_workspaces_test_clock(admin_client, tenant):
    """The back-office acts in the invoice's world: in test mode, at the test clock's time."""
    ahead = datetime.datetime(2031, 7, 1, 15, tzinfo=datetime.UTC)
    workspace = make_issuer(tenant.workspace)
    workspace.test_clock_at = ahead
    workspace.save(update_fields=["test_clock_at"])
    draft = invoice_create(
        workspace=workspace,
        test_mode=True,
        customer=CustomerFactory(workspace=workspace, test_mode=True),
        document=DocumentType.objects.get(pk=33),
        date=datetime.date(2031, 7, 1),
        lines=[{"name": "Plan Pro", "amount": Decimal(10000)}],
    )

    run_action(admin_client, "finalize", draft)
    run_action(admin_client, "toggle_uncollectible", draft)

    draft.refresh_from_db()
    assert (draft.finalized_at, draft.uncollectible_at) == (ahead, ahead)


def test_the_retry_submission_action_sends_a_failed_document_again(admin_client, finalized):
    finalized.biller_status = BillerStatus.FAILED
    finalized.tax_agency = {"status": "failed", "error": "registry outage"}
    finalized.save()

    run_action(admin_client, "retry_submission", finalized)

    finalized.refresh_from_db()
    assert finalized.biller_status == BillerStatus.PENDING
    assert finalized.tax_agency["previous"] == {"status": "failed", "error": "registry outage"}


def test_the_pdf_link_opens_the_pdf(admin_client, finalized, draft):
    page = admin_client.get(url(finalized)).content.decode()
    link = url(finalized, "pdf")

    assert f'href="{link}"' in page
    response = admin_client.get(link)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    finalized.refresh_from_db()
    assert finalized.pdf  # stored on first open, as the API does


def test_lists_search_and_filter(admin_client, finalized):
    changelist = reverse("admin:invoices_invoice_changelist")
    for query in (
        {"q": finalized.customer.name},
        {"workspace__id__exact": finalized.workspace_id},
        {"status__exact": "finalized", "test_mode__exact": "0", "biller_status__exact": "pending"},
        {"document__id__exact": "33"},
    ):
        response = admin_client.get(changelist, query)
        assert response.status_code == 200
        assert finalized.pk in response.content.decode(), query
    for model in ("creditnote", "debitnote", "order"):
        assert admin_client.get(reverse(f"admin:invoices_{model}_changelist")).status_code == 200


NO_LINE_CHANGES = {
    "lines-TOTAL_FORMS": "1",
    "lines-INITIAL_FORMS": "1",
    "lines-MIN_NUM_FORMS": "0",
    "lines-MAX_NUM_FORMS": "1000",
}


def test_a_draft_note_is_edited_through_the_notes_service(admin_client, finalized):
    note = make_note(CreditNote, finalized)
    data = {"date": "2026-04-03", "description": "Descuento comercial", "note": "ok"}

    response = admin_client.post(url(note), data | {"metadata": "{}"} | NO_LINE_CHANGES)

    assert response.status_code == 302, response.content.decode()[:3000]
    note.refresh_from_db()
    assert (str(note.date), note.description, note.note) == (
        "2026-04-03",
        "Descuento comercial",
        "ok",
    )
    # the service rewrote the reference's reason text with the description
    assert note.references[0]["description"] == "Descuento comercial"


def test_what_the_notes_service_refuses_shows_on_the_form(admin_client, finalized):
    note = make_note(DebitNote, finalized)
    data = {"date": "2020-01-01", "description": "Flete omitido", "metadata": "{}"}

    response = admin_client.post(url(note), data | NO_LINE_CHANGES)

    assert response.status_code == 200
    assert "A note cannot precede the invoice it references" in response.content.decode()
    note.refresh_from_db()
    assert str(note.date) == "2026-04-02"


def test_the_note_finalize_action(admin_client, finalized):
    note = make_note(CreditNote, finalized)

    admin_client.post(
        reverse("admin:invoices_creditnote_changelist"),
        {"action": "finalize", "_selected_action": [note.pk]},
    )

    note.refresh_from_db()
    assert (note.status, note.number) == ("finalized", 1)


def test_an_order_changes_through_its_service_until_it_leaves_draft(admin_client, tenant):
    from invoices.services.orders import order_create

    order = order_create(
        workspace=tenant.workspace,
        test_mode=False,
        customer=CustomerFactory(workspace=tenant.workspace),
        items=[{"name": "Plan Pro", "amount": Decimal(10000)}],
        now=NOW,
    )
    items = {
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "1",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
    }

    edited = admin_client.post(url(order), {"note": "por teléfono", "metadata": "{}"} | items)
    Order.objects.filter(pk=order.pk).update(status="invoiced")
    refused = admin_client.post(url(order), {"note": "later", "metadata": "{}"} | items)

    assert edited.status_code == 302
    assert refused.status_code == 403
    order.refresh_from_db()
    assert (order.note, order.total) == ("por teléfono", Decimal(11900))
    assert admin_client.post(url(order, "delete"), {"post": "yes"}).status_code == 403


@pytest.mark.parametrize("query", ["?date__year=9999", "?date__year=9999&date__month=12"])
@pytest.mark.parametrize("model", ["invoices_invoice", "procurement_retention"])
def test_a_date_hierarchy_past_the_last_year_is_not_an_error(admin_client, model, query):
    response = admin_client.get(reverse(f"admin:{model}_changelist") + query)

    assert response.status_code in (200, 302)


def test_a_line_priced_by_a_tax_rule_keeps_the_rule_s_percent(admin_client, draft):
    from billing.tests.admin_helpers import rendered_form_data
    from catalog.tests.factories import TaxFactory

    tax = TaxFactory(workspace=draft.workspace, test_mode=draft.test_mode, percent=Decimal(19))
    line = draft.lines.filter(exempt=False).order_by("position", "id").first()
    line.tax = tax
    line.tax_percent = tax.percent
    line.save()
    page = admin_client.get(url(draft))
    index = [form.instance.pk for form in page.context["inline_admin_formsets"][0].formset.forms]
    data = rendered_form_data(page) | {f"lines-{index.index(line.pk)}-tax_percent": "0"}

    response = admin_client.post(url(draft), data)

    assert response.status_code == 200  # the form again, with the error
    assert f"Tax {tax.pk} is 19%" in response.content.decode()
    line.refresh_from_db()
    assert line.tax_percent == Decimal(19)


def test_staff_find_a_document_by_its_folio_or_its_agency_tracking_id(admin_client, finalized):
    # What a support request names: "factura 1", or the track id the agency answered with.
    Invoice.objects.filter(pk=finalized.pk).update(
        biller_status=BillerStatus.FAILED, tax_agency_tracking_id="trk_01SIITRACK"
    )
    changelist = reverse("admin:invoices_invoice_changelist")

    by_folio = admin_client.get(changelist, {"q": str(finalized.number)})
    by_tracking_id = admin_client.get(changelist, {"q": "trk_01SIITRACK"})
    by_text = admin_client.get(changelist, {"q": "nothing-like-it"})

    assert finalized.pk in by_folio.content.decode()
    assert finalized.pk in by_tracking_id.content.decode()
    assert by_text.status_code == 200 and finalized.pk not in by_text.content.decode()
