"""Services never import `api/`: what a service needs of an object's outward shape (an
event's payload) comes from its app's `representations.py`. Walks every source module's
imports, those inside functions included, since that is where the old circles hid."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = (
    "billing", "bulks", "catalog", "customers", "invoices", "metering", "organization",
    "payments", "procurement", "reminders", "subscriptions", "webhooks", "config",
)  # fmt: skip

# The interfaces that sit beside api/ and wire into it: the URL root, the OpenAPI schema's
# registration at startup, the query filters the API's views use, an admin action that
# answers with the API's PDF response, and the hosted payment pages, whose card forms
# spend the publishable routes' throttles.
INTERFACES = {
    "config/urls.py",
    "billing/apps.py",
    "catalog/filters.py",
    "customers/filters.py",
    "invoices/filters.py",
    "organization/filters.py",
    "payments/filters.py",
    "procurement/filters.py",
    "subscriptions/filters.py",
    "webhooks/filters.py",
    "metering/filters.py",
    "reminders/filters.py",
    "bulks/filters.py",
    "invoices/admin.py",
    "payments/hosted.py",
}


def _is_api(module: str) -> bool:
    parts = module.split(".")
    return len(parts) > 1 and parts[0] in APPS and parts[1] == "api"


def _imported(tree: ast.AST) -> list[str]:
    modules = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.append(node.module)
            modules += [f"{node.module}.{alias.name}" for alias in node.names]
    return modules


def _sources() -> list[Path]:
    return [
        path
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if not {"api", "tests", "migrations"} & set(path.relative_to(ROOT).parts)
    ]


def test_no_module_outside_api_imports_api():
    offenders = {}
    for path in _sources():
        name = path.relative_to(ROOT).as_posix()
        if name in INTERFACES:
            continue
        api = [m for m in _imported(ast.parse(path.read_text())) if _is_api(m)]
        if api:
            offenders[name] = sorted(set(api))
    assert offenders == {}


def test_the_walk_sees_function_level_imports():
    tree = ast.parse("def f():\n    from invoices.api.serializers import InvoiceSerializer\n")
    assert any(_is_api(m) for m in _imported(tree))
    assert not any(_is_api(m) for m in _imported(ast.parse("from invoices import models")))
