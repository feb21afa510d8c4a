"""Documents as a customer would receive them, for the PDF, send and admin tests."""

import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from billing.models import Comuna, DocumentType, Workspace
from customers.models import Customer
from customers.tests.factories import CustomerFactory
from invoices.models import CreditNote, Invoice, Note
from invoices.services.invoices import invoice_create
from invoices.services.notes import credit_note_create, debit_note_create, note_finalize

NOW = datetime(2026, 3, 31, 15, 0, tzinfo=UTC)
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"


def make_issuer(workspace: Workspace) -> Workspace:
    workspace.name = "Servicios Digitales Andes SpA"
    workspace.tax_id = "76086428-5"  # as stored; documents print it with dots
    workspace.address = "Av. Providencia 1234, of. 501"
    workspace.comuna = Comuna.objects.get(code="13123")  # Providencia
    workspace.city = "Santiago"
    workspace.email = "facturacion@andes.cl"
    workspace.activity_description = "Desarrollo de software"
    workspace.activity_code = 620200
    workspace.sii_office = "S.I.I. - Providencia"
    workspace.sii_resolution_number = 80
    workspace.sii_resolution_date = date(2014, 8, 22)
    workspace.save()
    return workspace


def make_customer(workspace: Workspace, **fields: object) -> Customer:
    return CustomerFactory(  # type: ignore[no-any-return]
        workspace=workspace,
        name="Comercial Los Aromos Ltda.",
        tax_id="77123456-9",
        address="Los Carrera 455",
        state_id="CL-VS",
        comuna_id="05101",  # Valparaíso
        email="pagos@losaromos.cl",
        **fields,
    )


def make_draft(
    workspace: Workspace, customer: Customer | None = None, document: int = 33
) -> Invoice:
    """The API tests' invoice: net 32.766, exempt 4.750, IVA 6.226, total 43.742 (CLP)."""
    return invoice_create(
        workspace=workspace,
        test_mode=False,
        customer=customer or make_customer(workspace),
        document=DocumentType.objects.get(pk=document),
        date=date(2026, 3, 31),
        due_date=date(2026, 4, 30),
        lines=[
            {
                "name": "Plan Pro",
                "description": "Suscripción mensual, marzo 2026",
                "amount": Decimal(10000),
                "quantity": Decimal(3),
                "unit_label": "usuarios",
            },
            {"name": "Setup", "amount": Decimal(4990), "discount": Decimal(10)},
            {"name": "Seguro", "amount": Decimal(2500), "quantity": Decimal(2), "exempt": True},
        ],
        discount=Decimal(5),
        note="Transferir a Banco de Chile, cuenta corriente 123-45678-90.",
        references=[
            {"document": "801", "serial": "OC-118", "date": "2026-03-01", "description": "OC"}
        ],
    )


def make_note(model: type[Note], invoice: Invoice) -> Note:
    """A draft reason-3 note (corrects amounts) of 5.000 + IVA on the invoice."""
    create = credit_note_create if model is CreditNote else debit_note_create
    return create(
        workspace=invoice.workspace,
        test_mode=invoice.test_mode,
        invoice=invoice,
        reason=3,
        now=NOW,
        date=date(2026, 4, 2),
        description="Descuento no aplicado" if model is CreditNote else "Flete omitido",
        lines=[
            {
                "name": "Ajuste de precio" if model is CreditNote else "Flete",
                "amount": Decimal(5000),
            }
        ],
    )


# The notes' date: a document finalizes once its date has come.
NOTE_DAY = datetime(2026, 4, 2, 15, 0, tzinfo=UTC)


def make_finalized_note(model: type[Note], invoice: Invoice) -> Note:
    return note_finalize(note=make_note(model, invoice), now=NOTE_DAY)


def pdf_text(path: Path | str) -> str:
    """The PDF's text in reading order, whitespace (line wraps included) as single spaces."""
    text = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return " ".join(text.split())


def downloaded(client, path: str) -> bytes:  # type: ignore[no-untyped-def]
    """The body of a file route's 200 (a stored file is streamed)."""
    response = client.get(path)
    assert response.status_code == 200, response.content
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)


def pdf_bytes_text(pdf: bytes, folder: Path, name: str) -> str:
    """`pdf_text` of a PDF given as bytes (written to `folder` first)."""
    path = folder / f"{name}.pdf"
    path.write_bytes(pdf)
    return pdf_text(path)


def save_page_png(pdf_path: Path | str, name: str) -> Path:
    """Page 1 as a PNG in test-artifacts/, for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / name
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf_path),
            str(target),
        ],
        check=True,
    )
    return target.with_suffix(".png")
