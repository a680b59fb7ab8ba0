# The commands the README shows; CI (.ci/run) calls the same targets.
#   make run    - Polybot's main job on this machine (sets everything up first)
#   make test   - every test, linter and validator (sets everything up first)
#   make lint   - only the linters and validators (tests marked `tools`)
#   make bench  - speed and memory figures of the worker
# Set-up is idempotent: each environment is rebuilt only when what it installs changed.

PYTHON ?= python3
VENV := .venv
TOOLS := .tools
PY := $(VENV)/bin/python
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup run test lint bench clean

setup: $(VENV)/.installed node_modules/.installed $(TOOLS)/sam/.installed $(TOOLS)/checkov/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch $@

# SAM CLI pins its own versions of boto3, Flask and others: it gets its own venv.
$(TOOLS)/sam/.installed:
	test -x $(TOOLS)/sam/bin/python || $(PYTHON) -m venv $(TOOLS)/sam
	$(TOOLS)/sam/bin/pip install --quiet 'aws-sam-cli>=1.120,<2'
	touch $@

# checkov pins an old boto3: it gets its own venv too.
$(TOOLS)/checkov/.installed:
	test -x $(TOOLS)/checkov/bin/python || $(PYTHON) -m venv $(TOOLS)/checkov
	$(TOOLS)/checkov/bin/pip install --quiet 'checkov>=3.2,<4'
	touch $@

run: setup
	$(PY) -m local $(ARGS)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(PY) -m pytest -m tools $(PYTEST_ARGS)

bench: setup
	$(PY) -m benchmarks $(ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) node_modules out .pytest_cache .mypy_cache .ruff_cache
