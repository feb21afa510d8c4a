"""Running Piriod's Node client (tests/piriod/) against a live server."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Tenant

PIRIOD_DIR = Path(__file__).resolve().parent / "piriod"


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is not installed: the Piriod client tests need Node.js 18 or later")
    if not (PIRIOD_DIR / "node_modules" / "axios").is_dir():
        pytest.fail(f"run `npm ci` in {PIRIOD_DIR} first (.ci/run does)")
    return found


def run_script(
    script: str, *args: str, base_url: str, tenant: Tenant
) -> subprocess.CompletedProcess[str]:
    """`node <script> <args>` with the live server's URL and the tenant's credentials."""
    env = {
        **os.environ,
        "PIRIOD_BASE_URL": base_url,
        "PIRIOD_TOKEN": tenant.token,
        "PIRIOD_WORKSPACE": tenant.workspace.id,
    }
    return subprocess.run(
        [node(), script, *args],
        cwd=PIRIOD_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
