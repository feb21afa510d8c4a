"""Domain errors. Services raise these; the API maps each to one response shape.

`DomainError` is a rule or state conflict: `{"detail", "code"}` with a stable code.
`InvalidInput` is bad input found by a service: the DRF field shape `{"field": [msg]}`.
"""


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
