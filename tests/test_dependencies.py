"""constraints.txt pins every installed package, and agrees with pyproject.toml's own pins.

pyproject.toml pins what the project imports; what those pull in would otherwise be
resolved afresh at each install, so two machines (or CI today and tomorrow) could run
different code. `make install` and the Dockerfile install under constraints.txt, which
`make constraints` writes."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>\S+)$")


def _canonical(name: str) -> str:
    # PEP 503: case and runs of '-', '_' and '.' do not tell two names apart.
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        match = PIN.match(line)
        assert match, f"not an exact pin: {line!r}"
        name = _canonical(match["name"])
        assert name not in pins, f"{match['name']} is pinned twice"
        pins[name] = match["version"]
    return pins


def _constraints() -> dict[str, str]:
    text = (ROOT / "constraints.txt").read_text()
    return _pins([ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")])


def _project_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return _pins(project["dependencies"] + project["optional-dependencies"]["dev"])


def test_every_pin_of_pyproject_is_in_the_constraints_at_its_version():
    constraints = _constraints()
    differing = {
        name: (version, constraints.get(name))
        for name, version in _project_pins().items()
        if constraints.get(name) != version
    }
    assert not differing, f"run `make constraints` (pyproject, constraints): {differing}"


def test_the_installed_packages_are_the_constrained_versions():
    installed = {_canonical(d.metadata["Name"]): d.version for d in metadata.distributions()}
    differing = {
        name: (version, installed.get(name))
        for name, version in _constraints().items()
        if installed.get(name) != version
    }
    assert not differing, f"`make install` installs these (constraints, installed): {differing}"
