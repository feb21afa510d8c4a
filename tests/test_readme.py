"""The README's walk-throughs, pasted as a newcomer would: every fenced `sh` block of the
"Using the API" section runs, in order, in one bash session against a real server
(`manage.py runserver` on a free port) with a real Celery worker and beat, after the same
setup `make run` does (the Demo workspace, its token in var/demo-workspace.json).

A `curl` wrapper records the status of every call. The run must end cleanly (the blocks
run under `set -eo pipefail`), and the calls that did not answer 2xx must be exactly the
ones the README marks with a comment starting with their status (`# 409 …`), in order.
So an id left unset (`/invoices//finalize/`) or a sequence that no longer answers what
the README shows fails here.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.ports import free_port
from tests.workers import (
    ROOT,
    TEST_BROKER_URL,
    _database_url,
    require_worker_services,
    running_worker,
    use_test_broker,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

README = ROOT / "README.md"
SECTION = "## Using the API"
FENCE = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
# A comment that starts with a status the README expects: `# 409 invoice_has_notes…`.
EXPECTED_STATUS = re.compile(r"#\s*(\d{3})\b")

# Every call of the walk-throughs goes through this: it records "status block URL".
PRELUDE = r"""
set -eo pipefail
curl() {
  local headers status
  headers=$(mktemp)
  command curl -D "$headers" "$@"
  status=$(awk '/^HTTP\//{code=$2} END{print code}' "$headers")
  rm -f "$headers"
  local call="$*"
  printf '%s %s %s\n' "${status:-000}" "$README_BLOCK" "${call//$'\n'/ }" >> "$README_CALLS"
}
"""


def section_blocks(text: str) -> list[tuple[int, str]]:
    """(line, code) of each `sh` block between "## Using the API" and the next `## `."""
    start = text.index(f"\n{SECTION}\n")
    end = text.find("\n## ", start + len(SECTION) + 2)
    section = text[start : end if end != -1 else len(text)]
    first_line = text[:start].count("\n") + 1
    return [
        (first_line + section[: match.start()].count("\n"), match.group(1))
        for match in FENCE.finditer(section)
    ]


def expected_failures(blocks: list[tuple[int, str]]) -> list[str]:
    expected = []
    for _, code in blocks:
        for line in code.splitlines():
            comment = line.find("#")
            match = EXPECTED_STATUS.match(line[comment:]) if comment != -1 else None
            if match and not match.group(1).startswith("2"):
                expected.append(match.group(1))
    return expected


def test_section_blocks_are_found_in_order() -> None:
    text = "intro\n```sh\nmake run\n```\n## Using the API\n```sh\na # 404\n```\n```json\n{}\n```\n"
    text += "### More\n```sh\nb # 201\n```\n## Docker\n```sh\nc # 409\n```\n"
    blocks = section_blocks(text)
    assert [code for _, code in blocks] == ["a # 404\n", "b # 201\n"]
    assert [line for line, _ in blocks] == [6, 13]
    assert expected_failures(blocks) == ["404"]


@contextmanager
def running_server(port: int, env: dict[str, str], log: Path) -> Iterator[None]:
    with open(log, "ab") as out:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=5)
                    break
                except (urllib.error.URLError, ConnectionError):
                    assert server.poll() is None, log.read_text()[-3000:]
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.3)
            yield
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)


def test_readme_walk_throughs_run_against_a_live_server(tmp_path: Path) -> None:
    require_worker_services()
    blocks = section_blocks(README.read_text())
    assert len(blocks) > 20, "the walk-throughs were not found"

    # What `make run` does before it starts the processes.
    (tmp_path / "var").mkdir()
    printed = StringIO()
    call_command(
        "create_workspace",
        "--name=Demo",
        "--country=CL",
        "--email=demo@example.com",
        "--tax-id=76086428-5",
        "--json",
        stdout=printed,
    )
    (tmp_path / "var" / "demo-workspace.json").write_text(printed.getvalue())

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": TEST_BROKER_URL,
        "WEBHOOKS_ALLOW_PRIVATE_URLS": "true",
        "PORT": str(port),
    }
    with use_test_broker():
        walk_the_readme(tmp_path, blocks, env, worker_env={"PORT": str(port)})


def test_readme_walk_throughs_run_on_what_make_run_serves(tmp_path: Path) -> None:
    """The same walk on `make run`'s own configuration: SQLite and the filesystem broker,
    no other server (only its files under VAR_DIR differ, to keep clear of a developer's)."""
    blocks = section_blocks(README.read_text())
    var = tmp_path / "var"
    var.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": "",  # unset: the cache in each process's memory, as make run has it
        "MEDIA_ROOT": str(var / "media"),
        "VAR_DIR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://",
        "WEBHOOKS_ALLOW_PRIVATE_URLS": "true",
        "PORT": str(port),
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    created = subprocess.run(
        [*manage, "create_workspace", "--name=Demo", "--country=CL",
         "--email=demo@example.com", "--tax-id=76086428-5", "--json"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    (var / "demo-workspace.json").write_text(created.stdout)
    walk_the_readme(tmp_path, blocks, env, worker_env=env)


def walk_the_readme(
    tmp_path: Path, blocks: list[tuple[int, str]], env: dict[str, str], worker_env: dict[str, str]
) -> None:
    """Run the blocks in one bash session against a server and a worker with beat on
    `env`, and check every call answered as the README says."""
    port = int(env["PORT"])
    calls = tmp_path / "calls.log"
    env = {**env, "README_CALLS": str(calls)}
    script = PRELUDE + "".join(
        f"\nREADME_BLOCK=L{line}\necho '--- README.md line {line}' >&2\n{code}"
        for line, code in blocks
    )
    (tmp_path / "readme.sh").write_text(script)

    with (
        running_worker(tmp_path, beat=True, extra_env=worker_env),
        running_server(port, env, tmp_path / "server.log"),
    ):
        # A file, not a pipe: the receiver a block leaves running keeps its output open.
        with open(tmp_path / "transcript.txt", "wb") as out:
            run = subprocess.Popen(
                ["bash", str(tmp_path / "readme.sh")],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            run.wait(timeout=600)
        finally:
            # Whatever a block left running in the background (the webhook receiver).
            with suppress(ProcessLookupError):
                os.killpg(run.pid, signal.SIGTERM)

    transcript = (tmp_path / "transcript.txt").read_text(errors="replace")
    recorded = calls.read_text().splitlines() if calls.exists() else []
    failures = [line for line in recorded if not line.startswith("2")]
    assert run.returncode == 0, (
        "the walk-through stopped; calls that did not answer 2xx:\n"
        + "\n".join(failures)
        + f"\n\ntranscript tail:\n{transcript[-4000:]}"
    )
    assert [line.split()[0] for line in failures] == expected_failures(blocks), (
        "calls that did not answer 2xx, against the README's `# 4xx` comments:\n"
        + "\n".join(failures)
        + f"\n\ntranscript tail:\n{transcript[-4000:]}"
    )
    assert len(recorded) > 50, json.dumps(recorded)
    # The webhooks walk-through's receiver printed the delivery of the customer it created.
    # (curl prints no final newline, so a delivery may follow another output on its line.)
    deliveries = [line for line in transcript.splitlines() if "delivery: evt_" in line]
    assert any('"customer.created"' in line and "Sur Ltda" in line for line in deliveries), (
        transcript[-4000:]
    )
