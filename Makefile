# Developer commands; the README's "Developer commands" table describes each one.
# Every target installs what it needs: `make dev` a small venv for local mode only
# (.venv-local, from requirements-local.txt), everything else the full toolchain (.venv).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LOCAL_VENV := .venv-local
PORT ?= 8000
CDK := npx --yes aws-cdk@2
CDK_ARGS ?=
export PYTHONPATH := $(CURDIR)/lambdas:$(CURDIR)
export NODE_OPTIONS := --no-deprecation
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1

.PHONY: python-version venv local-venv browser lint test test-unit test-infra test-e2e dev synth deploy destroy bench clean

python-version:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "Python 3.11 or newer is needed; point PYTHON at it, e.g. make dev PYTHON=python3.12"; \
	  exit 1; }

$(VENV)/.installed: requirements.txt requirements-local.txt requirements-dev.txt | python-version
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# Local mode's own venv: the functions' runtime libraries and moto, nothing else.
# --no-compile: byte-code is written on first import instead, for the modules local mode
# actually loads (a small part of moto and botocore), not for every installed file.
$(LOCAL_VENV)/.installed: requirements-local.txt | python-version
	rm -rf $(LOCAL_VENV)
	$(PYTHON) -m venv $(LOCAL_VENV)
	$(LOCAL_VENV)/bin/python -m pip install --quiet --no-compile -r requirements-local.txt
	touch $@

# The operator's `optin` command (pyproject.toml's console script) in the same venv: an
# editable install of this checkout with no dependencies (botocore is there already).
$(LOCAL_VENV)/bin/optin: pyproject.toml $(LOCAL_VENV)/.installed
	$(LOCAL_VENV)/bin/python -m pip install --quiet --no-compile --no-deps -e .
	touch $@

local-venv: $(LOCAL_VENV)/.installed $(LOCAL_VENV)/bin/optin

# Debian's Chromium for the browser tests; never a downloaded browser.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: venv browser lint
	$(PY) -m pytest

test-unit: venv
	$(PY) -m pytest tests/unit tests/adapters tests/handlers

test-infra: venv
	$(PY) -m pytest tests/infra

test-e2e: venv browser
	$(PY) -m pytest tests/e2e

dev: local-venv
	$(LOCAL_VENV)/bin/python -m local --port $(PORT)

synth: venv
	$(CDK) synth --quiet $(CDK_ARGS)

deploy: venv
	OPTIN_DEPLOY=1 $(CDK) deploy $(CDK_ARGS)

destroy: venv
	$(CDK) destroy $(CDK_ARGS)

bench: venv
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) $(LOCAL_VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache test-output
