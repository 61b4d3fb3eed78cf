# Developer commands (SPEC section 11). Every target installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
CDK := npx --yes aws-cdk@2
CDK_ARGS ?=
export PYTHONPATH := $(CURDIR)/lambdas:$(CURDIR)
export NODE_OPTIONS := --no-deprecation
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1

.PHONY: venv browser lint test test-unit test-infra test-e2e dev synth deploy destroy bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

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
	$(PY) -m pytest tests/unit tests/adapters

test-infra: venv
	$(PY) -m pytest tests/infra

test-e2e: venv browser
	$(PY) -m pytest tests/e2e

dev: venv
	$(PY) -m local --port $(PORT)

synth: venv
	$(CDK) synth --quiet $(CDK_ARGS)

deploy: venv
	OPTIN_DEPLOY=1 $(CDK) deploy $(CDK_ARGS)

destroy: venv
	$(CDK) destroy $(CDK_ARGS)

bench: venv
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache test-output
