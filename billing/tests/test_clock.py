"""Interfaces take `now` from the workspace's clock (billing.clock), never the system clock:
in test mode the two disagree. This guard reads the interface modules and fails on a new
reading of the real clock that is not listed below with its reason."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INTERFACES = (
    "*/api/*.py",
    "*/representations.py",
    "*/admin.py",
    "*/views.py",
    "payments/hosted.py",
)
REAL_CLOCK = re.compile(r"\b(timezone\.now|datetime\.now|date\.today|localdate|real_now)\(")

# (module, the line's code): why the real clock is right there, in both modes.
ALLOWED = {
    ("billing/api/viewsets.py", "now = timezone.now()"): (
        "idempotency keys expire on the real clock: a replay window is real time"
    ),
    (
        "billing/api/views.py",
        "pair = jwt_session_start(**body.validated_data, now=timezone.now())",
    ): ("JWT sessions are credentials of people, not of a workspace's test world"),
    (
        "billing/api/views.py",
        'pair = jwt_session_refresh(refresh=body.validated_data["token"], now=timezone.now())',
    ): "a refresh token's expiry and reuse are real time, as the JWT's own expiry is",
    ("billing/admin.py", "if obj.not_after_at > real_now():"): (
        "a certificate expires in the real world, whatever a test clock says"
    ),
    ("billing/admin.py", "issued = api_token_issue(user=user, now=timezone.now())"): (
        "API tokens are credentials of people, not of a workspace's test world"
    ),
    ("billing/admin.py", "active.update(revoked_at=timezone.now())"): (
        "a revoked token stops working now, whatever a test clock says"
    ),
    (
        "invoices/admin.py",
        "lambda document: document_retry_submission(document=document, now=real_now()),",
    ): "the tax agency worker schedules submissions on the real clock",
    (
        "invoices/api/filing.py",
        "document = document_retry_submission(document=self.get_object(), now=real_now())",
    ): "the tax agency worker schedules submissions on the real clock",
    (
        "webhooks/api/views.py",
        "endpoint = services.endpoint_rotate_secret("
        "endpoint=self.get_object(), now=timezone.now())",
    ): "the old secret's overlap is real time for the receiver verifying signatures",
    (
        "webhooks/api/views.py",
        "endpoint = services.endpoint_enable(endpoint=self.get_object(), now=timezone.now())",
    ): "deliveries are scheduled for the real-clock delivery worker",
    (
        "webhooks/api/views.py",
        "return services.endpoint_update(endpoint=instance, now=timezone.now(), **data)",
    ): "`active` turned on enables: deliveries are scheduled for the real-clock worker",
    (
        "webhooks/api/views.py",
        "delivery = services.endpoint_test(endpoint=self.get_object(), now=timezone.now())",
    ): "deliveries are scheduled for the real-clock delivery worker",
    (
        "webhooks/api/views.py",
        'event=event, now=timezone.now(), endpoint=serializer.validated_data.get("endpoint")',
    ): "deliveries are scheduled for the real-clock delivery worker",
    (
        "webhooks/admin.py",
        "event=delivery.event, endpoint=delivery.endpoint, now=timezone.now()",
    ): "deliveries are scheduled for the real-clock delivery worker",
}


def _real_clock_readings() -> set[tuple[str, str]]:
    found = set()
    for pattern in INTERFACES:
        for module in ROOT.glob(pattern):
            relative = module.relative_to(ROOT).as_posix()
            if relative.startswith((".venv/", "tests/")) or "/tests/" in relative:
                continue
            for line in module.read_text().splitlines():
                if REAL_CLOCK.search(line) and not line.lstrip().startswith("#"):
                    found.add((relative, line.strip()))
    return found


def test_interfaces_read_the_workspaces_clock_not_the_system_clock():
    unexpected = _real_clock_readings() - ALLOWED.keys()

    assert not unexpected, (
        "Take `now` from billing.clock (tenant_now(), clock_now_for(record)), or list the "
        f"line in ALLOWED with why the real clock is right: {sorted(unexpected)}"
    )


def test_every_allowed_reading_still_exists():
    """A stale entry would let a new line with the same text through unnoticed."""
    assert ALLOWED.keys() <= _real_clock_readings()
