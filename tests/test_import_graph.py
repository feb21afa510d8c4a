"""The import graph of the project's source (tests and migrations aside): no circle, and no
arrow from a floor to a floor above it or sideways on one floor (ARCHITECTURE.md, "The
floors"). grimp reads every import statement, those inside functions included; imports
only a type checker follows (`if TYPE_CHECKING:`) are left out, since they never run.

Imports inside functions are refused too, so no circle can hide in one: the one place
they belong is an app's `AppConfig.ready`, where a higher app hands a lower one its
registrations (models cannot be imported while apps.py itself loads)."""

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. A new app takes its floor here (and in ARCHITECTURE.md).
FLOORS = (
    ("billing",),
    ("organization",),  # below customers: a contact belongs to an org unit
    ("customers", "catalog", "webhooks"),
    ("invoices",),
    ("payments", "procurement", "reminders"),
    ("subscriptions", "bulks"),
    ("metering",),
    ("config",),  # settings, URLs and the Celery app: they wire every app together
)
FLOOR = {app: level for level, apps in enumerate(FLOORS) for app in apps}

# Modules that are not the server's source: scripts beside it and the tests.
NOT_SOURCE = ("bench", "tests")

# Third-party imports kept inside a function on purpose, each with its reason.
LAZY_THIRD_PARTY = {
    # Loads Pango: only the processes that render a PDF pay for it.
    ("invoices/pdf/render.py", "weasyprint"),
    # The ClickHouse client: only a deployment with EVENTS_BACKEND=clickhouse loads it.
    ("metering/store/clickhouse.py", "clickhouse_connect"),
    # ClickHouse in-process, a development tool the tests run the store on.
    ("metering/store/chdb.py", "chdb"),
    # Django's entry point, as startproject writes it.
    ("manage.py", "django.core.management"),
}


def _is_source(module: str) -> bool:
    parts = module.split(".")
    return "tests" not in parts and "migrations" not in parts


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*FLOOR, exclude_type_checking_imports=True, cache_dir=None)


def _app(module: str) -> str:
    return module.split(".")[0]


def test_every_package_has_a_floor():
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    assert packages - set(NOT_SOURCE) == set(FLOOR)


def test_no_import_goes_up_or_sideways():
    graph = _graph()
    offenders = []
    for importer in sorted(filter(_is_source, graph.modules)):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            low, high = _app(importer), _app(imported)
            if low != high and FLOOR[high] >= FLOOR[low]:
                offenders.append(f"{importer} → {imported}")
    assert offenders == []


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(edges[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_cycles_are_found():
    # The walker itself: a circle of three and a loose arrow.
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]


def test_no_import_cycle():
    graph = _graph()
    modules = set(filter(_is_source, graph.modules))
    edges = {
        module: set(graph.find_modules_directly_imported_by(module)) & modules for module in modules
    }
    assert _cycles(edges) == []


def _function_imports(tree: ast.AST) -> list[tuple[str, str]]:
    """(enclosing function, imported module) of every import inside a function."""
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import):
                found += [(function.name, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.append((function.name, node.module))
    return found


def test_imports_sit_at_module_level():
    offenders = []
    sources = [ROOT / "manage.py"] + [
        path
        for app in FLOOR
        for path in sorted((ROOT / app).rglob("*.py"))
        if _is_source(".".join(path.relative_to(ROOT).parts))
    ]
    for path in sources:
        name = path.relative_to(ROOT).as_posix()
        for function, module in _function_imports(ast.parse(path.read_text())):
            if path.name == "apps.py" and function == "ready":
                continue
            if (name, module) in LAZY_THIRD_PARTY:
                continue
            offenders.append(f"{name}: {function} imports {module}")
    assert offenders == []
