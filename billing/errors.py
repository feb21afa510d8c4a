"""Domain errors. Services raise these; the API maps each to one response shape.

`DomainError` is a rule or state conflict: `{"detail", "code"}` with a stable code.
`InvalidInput` is bad input found by a service: the DRF field shape `{"field": [msg]}`.
"""

from typing import Any


class DomainError(Exception):
    status_code = 409

    def __init__(self, code: str, detail: str, *, status_code: int | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code


class NotFound(DomainError):
    status_code = 404

    def __init__(self, detail: str = "Not found.") -> None:
        super().__init__("not_found", detail)


class InvalidInput(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(str(errors))
        self.errors = errors


def nested_field_errors(errors: dict[str, Any]) -> dict[str, Any]:
    """Services name a nested field by its path (`lines.0.discount`, which the admin's
    forms show as is); the API nests it as DRF's serializers nest their own errors
    (`{"lines": {"0": {"discount": [...]}}}`), so a client reads one shape for a line
    whichever layer refused it, and a bulk's item stores the same."""
    nested: dict[str, Any] = {}
    for path, messages in errors.items():
        *parents, leaf = path.split(".")
        node = nested
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # `lines` and `lines.0.x` both refused
                child = node[part] = {"non_field_errors": child}
            node = child
        if isinstance(node.get(leaf), dict):
            node[leaf].setdefault("non_field_errors", []).extend(messages)
        else:
            node[leaf] = messages
    return nested
