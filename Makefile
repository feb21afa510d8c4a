# The two commands a newcomer needs: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(CURDIR)/$(VENV)/bin
# Installing is skipped while this stamp is newer than pyproject.toml and constraints.txt.
STAMP := $(VENV)/.installed
PORT ?= 8000
PYTEST_ARGS ?=
# The suite runs on two processes (pytest-xdist), one per core of the machine CI runs on;
# `make test PYTEST_WORKERS=0` runs it in this one (for -x, -s or a debugger).
PYTEST_WORKERS ?= 2
# Signing keys made once for this machine, so `make run` never serves on a published key.
LOCAL_KEYS := var/local-keys.env
# The pins pyproject.toml lists, runtime and dev, one per line.
PRINT_REQUIREMENTS := 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))'
# The project's packages (tests/ is excluded from mypy in pyproject; bench/ holds scripts).
MYPY_TARGETS := $(filter-out tests,$(patsubst %/__init__.py,%,$(wildcard */__init__.py)))

# python3.11, or python3 when that is 3.11 (pyproject pins >=3.11,<3.12).
PYTHON311 := $(shell \
	for c in python3.11 python3; do \
		p=$$(command -v $$c 2>/dev/null) || continue; \
		$$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null && { echo $$p; break; }; \
	done)

.PHONY: help install constraints run test lint bench clean

help:
	@echo "make install  create $(VENV) (Python 3.11) and install the project with its dev tools"
	@echo "make run      migrate, create the Demo workspace and a token, start web + worker + beat"
	@echo "make test     run pytest (extra arguments: make test PYTEST_ARGS='-k customers -x')"
	@echo "make lint     ruff, ruff format --check, mypy, makemigrations --check, OpenAPI validation"
	@echo "make bench    every benchmark in bench/ at a small size, then one table (needs PostgreSQL)"
	@echo "make constraints  resolve pyproject.toml afresh and pin every package in constraints.txt"

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@if [ -z "$(PYTHON311)" ]; then \
		echo "Python 3.11 is required: neither python3.11 nor a python3 that is 3.11 is on PATH." >&2; \
		exit 1; \
	fi
	@if ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then \
		echo "Creating $(VENV) with $(PYTHON311)"; \
		rm -rf $(VENV) && $(PYTHON311) -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@# The project is not a package (no modules to install): install what it pins, and
	@# the packages those pull in at the versions constraints.txt holds.
	$(PY) -c $(PRINT_REQUIREMENTS) > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements.txt \
		-c constraints.txt
	@touch $(STAMP)

# After changing a pin in pyproject.toml: resolve it in a scratch environment, unconstrained,
# and write what was installed as the new constraints.
constraints:
	@if [ -z "$(PYTHON311)" ]; then echo "Python 3.11 is required." >&2; exit 1; fi
	rm -rf .venv-constraints && $(PYTHON311) -m venv .venv-constraints
	.venv-constraints/bin/python -c $(PRINT_REQUIREMENTS) > .venv-constraints/requirements.txt
	.venv-constraints/bin/python -m pip install --quiet --disable-pip-version-check \
		-r .venv-constraints/requirements.txt
	{ echo "# Every package the project installs, at the version it was tested with."; \
	  echo "# Written by \`make constraints\` from pyproject.toml's pins; do not edit by hand."; \
	  .venv-constraints/bin/python -m pip freeze --disable-pip-version-check; } > constraints.txt
	rm -rf .venv-constraints

$(LOCAL_KEYS):
	@mkdir -p var
	@# Written as ${VAR:-key} so keys set in the environment win over these.
	@$(PY) -c 'import secrets; \
		print("SECRET_KEY=$${SECRET_KEY:-" + secrets.token_urlsafe(50) + "}"); \
		print("JWT_SIGNING_KEY=$${JWT_SIGNING_KEY:-" + secrets.token_urlsafe(50) + "}")' > $@

run: install $(LOCAL_KEYS)
	@mkdir -p var
	$(PY) manage.py migrate --noinput
	@$(PY) manage.py create_workspace --name Demo --country CL --email demo@example.com --tax-id 76086428-5 \
		--legal-name "Demo Servicios Digitales SpA" --activity-description "Desarrollo de software" \
		--activity-code 620200 --address "Av. Providencia 1234, of. 501" --comuna 13123 \
		--city Santiago --sii-office "S.I.I. - Providencia" --sii-resolution-number 0 \
		--sii-resolution-date 2026-01-01 --issuer-email facturacion@demo.cl --json \
		> var/demo-workspace.json
	@$(PY) -c 'import json, sys; d = json.load(open("var/demo-workspace.json")); \
		print(); \
		print("  Workspace: " + d["workspace"]); \
		print("  Token:     " + d["token"] + "   (a new one on each run; the old one is revoked)"); \
		print("  API:       http://127.0.0.1:$(PORT)/   docs: http://127.0.0.1:$(PORT)/docs/"); \
		print("             (on this machine only; HOST=0.0.0.0 make run listens on every interface)"); \
		print(); \
		print("  The README'"'"'s examples use these variables; paste them in another terminal:"); \
		print("  export BASE=http://127.0.0.1:$(PORT) TOKEN=" + d["token"] + " WORKSPACE=" + d["workspace"]); \
		print("  H=(-H \"Authorization: Token $$TOKEN\" -H \"x-simple-workspace: $$WORKSPACE\" -H \"Content-Type: application/json\")"); \
		print("  T=(\"$${H[@]}\" -H \"x-piriod-test-mode: true\")"); \
		print(); \
		print("  curl -H \"Authorization: Token " + d["token"] + "\" \\"); \
		print("       -H \"x-simple-workspace: " + d["workspace"] + "\" \\"); \
		print("       http://127.0.0.1:$(PORT)/customers/"); \
		print()'
	@# honcho gives each process a PORT counting up from -p: web gets $(PORT).
	set -a && . ./$(LOCAL_KEYS) && set +a && PUBLIC_URL="$${PUBLIC_URL:-http://127.0.0.1:$(PORT)}" \
		PATH="$(BIN):$$PATH" $(BIN)/honcho -f Procfile start -p $(PORT)

test: install $(PIRIOD_CLIENT)
	@$(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests; that is a failure." >&2; exit 1; fi; \
	exit $$status

# Piriod's client transport for tests/test_piriod_*.py, as its lock file pins it.
PIRIOD_CLIENT := tests/piriod/node_modules/.package-lock.json
$(PIRIOD_CLIENT): tests/piriod/package-lock.json
	cd tests/piriod && npm ci --no-audit --no-fund

# Every check runs even when an earlier one fails; the target fails if any did.
lint: install
	@mkdir -p var; failed=""; \
	check() { label=$$1; shift; echo "--- $$label"; "$$@" || failed="$$failed [$$label]"; }; \
	check "ruff check"            $(BIN)/ruff check . ; \
	check "ruff format --check"   $(BIN)/ruff format --check --output-format concise . ; \
	check "mypy"                  $(BIN)/mypy $(MYPY_TARGETS) ; \
	check "makemigrations --check" $(PY) manage.py makemigrations --check --dry-run ; \
	check "openapi --validate"    $(PY) manage.py spectacular --validate --fail-on-warn --file var/openapi.json ; \
	if [ -n "$$failed" ]; then echo "make lint: FAILED:$$failed" >&2; exit 1; fi; \
	echo "make lint: all checks passed"

# Every benchmark at a small size and one table of figure, same-run baseline, ratio and
# goal (bench/run_all.py; BENCH_ARGS='--only read cycle' runs some). They need PostgreSQL
# (BENCH_DATABASE_URL) and, for webhooks, Redis (BENCH_BROKER_URL).
BENCH_ARGS ?=
bench: install
	$(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
