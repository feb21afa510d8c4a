"""Every renderer of a fiscal document reads its counterpart through one accessor
(billing.counterparts.document_counterpart), which gives a finalized document the
counterpart frozen at finalize: a renderer that reads the live customer or supplier would
let an edit of the record change a filed document."""

import ast
from pathlib import Path

from django.conf import settings

# What renders a document: its DTE, its timbre, what is filed with the tax agency, its PDF.
RENDERERS = [
    "billing/timbre.py",
    "invoices/dte/__init__.py",
    "invoices/dte/boleta.py",
    "invoices/dte/build.py",
    "invoices/pdf/context.py",
    "invoices/pdf/render.py",
    "invoices/services/filing.py",
    "procurement/filing.py",
]
LIVE_RECORDS = {"customer", "supplier", "customer_id", "supplier_id", "counterpart_field"}


def live_reads(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in LIVE_RECORDS:
            found.append(f"{path.name}:{node.lineno} .{node.attr}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in LIVE_RECORDS
        ):
            found.append(f"{path.name}:{node.lineno} getattr(…, {node.args[1].value!r})")
    return found


def test_no_renderer_reads_the_live_counterpart():
    base = Path(settings.BASE_DIR)
    reads = [read for module in RENDERERS for read in live_reads(base / module)]

    assert reads == [], "read the counterpart with billing.counterparts.document_counterpart"


def test_the_check_finds_a_live_read(tmp_path):
    module = tmp_path / "renderer.py"
    module.write_text(
        "def name(document):\n"
        "    return document.customer.name\n"
        "def rut(document):\n"
        "    return getattr(document, 'supplier').tax_id\n"
    )

    assert live_reads(module) == [
        "renderer.py:2 .customer",
        "renderer.py:4 getattr(…, 'supplier')",
    ]
