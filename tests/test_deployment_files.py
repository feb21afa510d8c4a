"""What the deployment files promise: no default secret, a local-only development
server, and one media storage for the processes that write and serve PDFs."""

import re

import yaml

from tests.workers import ROOT


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_requires_the_signing_keys_instead_of_defaulting_them() -> None:
    environment = compose()["x-app"]["environment"]

    for name in ("SECRET_KEY", "JWT_SIGNING_KEY"):
        assert re.fullmatch(rf"\$\{{{name}:\?.+\}}", environment[name]), environment[name]


def test_compose_web_and_worker_share_the_media_volume() -> None:
    services = compose()["services"]
    media_root = compose()["x-app"]["environment"]["MEDIA_ROOT"]

    for name in ("web", "worker"):
        mounts = {
            volume.split(":")[1]: volume.split(":")[0] for volume in services[name]["volumes"]
        }
        assert mounts.get(media_root) == "media", name
    assert "media" in compose()["volumes"]


def test_the_procfile_serves_on_loopback_only() -> None:
    procfile = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )

    # Loopback unless HOST says otherwise (the README's `HOST=0.0.0.0 make run`).
    assert "${HOST:-127.0.0.1}:" in procfile["web"]
    assert "0.0.0.0" not in procfile["web"]
