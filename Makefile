# The commands the README shows; CI (.ci/run) calls the same targets.
#   make run     - Polybot's main job on this machine (sets everything up first)
#   make test    - every test, linter and validator: all the tiers below (sets everything up first)
# The tiers, quickest first (`make test` runs them all, in two sessions side by side):
#   make check          - ruff, ruff format, mypy (seconds)
#   make unit           - tests/unit: no stack, no Docker (under a minute)
#   make integration    - tests/integration and tests/e2e: the local stack with the real model
#   make faults         - tests/faults: the stack through Telegram's and AWS's failure modes
#   make infrastructure - tests/infrastructure: Terraform planned and applied against the embedded AWS
#   make tools          - tests/tools: checkov, hadolint, actionlint, Terraform fmt/validate
#   make artifacts      - tests/artifacts: sam build, sam local invoke, the two images built and run
#   make lint    - every test marked `tools` (the linters and validators)
# Reports, never written by the tests:
#   make reliability-report - the fault suite, writing docs/reliability.md
#   make bench   - speed, memory and cost figures of the worker and the pipeline (docs/performance.md)
#   make bench-coldstart - only the Lambda functions' cold starts (lambda_init_ms)
# Parts:
#   make build   - `sam build`: the workflow's functions and their layer, as deployed
#   make invoke FN=StageImage - one function in its Lambda container (sam local invoke)
#                  against the embedded AWS and the Telegram stand-in
#   make models  - the production model's weights into build/models/ (for the worker image)
#   make images  - the bot and worker images (BOT_IMAGE, WORKER_IMAGE, TORCH_INDEX_URL); each build
#                  removes the image it replaces
# Set-up is idempotent: each environment is rebuilt only when what it installs changed.

PYTHON ?= python3
VENV := .venv
TOOLS := .tools
PY := $(VENV)/bin/python
SAM := $(TOOLS)/sam/bin/sam
BOT_IMAGE ?= polybot-bot:dev
WORKER_IMAGE ?= polybot-worker:dev
# The worker's export stage (torch, 7.5 GB with PyPI's torch), tagged so that it stays
# Docker's cache for the next build and the stage it replaces can be removed.
WORKER_EXPORT_IMAGE ?= $(WORKER_IMAGE)-export
# PyTorch's CPU wheels, as production uses; where only PyPI is reachable,
# TORCH_INDEX_URL=https://pypi.org/simple (a CUDA build, much larger).
TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu
# Machines without a container registry get local base images from this script
# (Docker, python:3.13-slim, the Lambda python3.13 base image); elsewhere it is not needed.
BASE_IMAGES := ../shared/docker/make-base-images.sh
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup run test test-stack test-tools check unit integration faults infrastructure tools artifacts lint reliability-report \
	bench bench-coldstart clean base-images build invoke models images bot-image worker-image

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

# Set-up and the base images do not depend on each other: both at once.
# Every tier, in two sessions side by side: the tiers that run the local stack,
# and those that run external tools (Terraform, checkov, linters, Docker builds).
# The stack's tests hold with a core kept busy (the fault suite is checked so), and
# most of the tools' time is spent waiting on their own processes. -O prints each
# session's output whole when it ends.
STACK_TIERS := unit or integration or e2e or faults
TOOL_TIERS := tools or infrastructure or artifacts
test:
	$(MAKE) --no-print-directory -j 2 setup base-images
	$(MAKE) --no-print-directory -j 2 -O test-stack test-tools

test-stack:
	$(PY) -m pytest -m '$(STACK_TIERS)' $(PYTEST_ARGS)

test-tools:
	$(PY) -m pytest -m '$(TOOL_TIERS)' $(PYTEST_ARGS)

# flock: the image targets may run at once (the tests build both in the background).
# --close: the script may start dockerd, which must not inherit (and hold forever)
# the lock; -w: a lock never freed fails the build in 15 minutes instead of hanging.
base-images:
	@if [ -x $(BASE_IMAGES) ]; then flock --close -w 900 /tmp/polybot-base-images.lock $(BASE_IMAGES); fi

build: setup
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(SAM) build

invoke: build base-images
	@test -n "$(FN)" || { echo "usage: make invoke FN=StageImage (or GatherAlbum, SendReply, NotifyFailure)"; exit 2; }
	$(PY) -m local.invoke $(FN)

# Standard library only: runs without `make setup` (CI's image job).
models:
	$(PYTHON) -m local.models build/models

images: bot-image worker-image

# Standard library only, as `make models`: local.images runs `docker build` and
# removes the image the tag replaces (Docker's legacy builder keeps them all).
bot-image: base-images
	$(PYTHON) -m local.images $(BOT_IMAGE) -f bot/Dockerfile

# The export stage first, under its own tag; the worker's build then finds it cached.
worker-image: models base-images
	$(PYTHON) -m local.images $(WORKER_EXPORT_IMAGE) -f inference/Dockerfile --target export --build-arg TORCH_INDEX_URL=$(TORCH_INDEX_URL)
	$(PYTHON) -m local.images $(WORKER_IMAGE) -f inference/Dockerfile --build-arg TORCH_INDEX_URL=$(TORCH_INDEX_URL)

check: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

unit: $(VENV)/.installed
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

integration: setup
	$(PY) -m pytest -m 'integration or e2e' $(PYTEST_ARGS)

faults: setup
	$(PY) -m pytest -m faults $(PYTEST_ARGS)

infrastructure: setup
	$(PY) -m pytest -m infrastructure $(PYTEST_ARGS)

tools: setup
	$(PY) -m pytest -m tools $(PYTEST_ARGS)

artifacts: setup base-images
	$(PY) -m pytest -m artifacts $(PYTEST_ARGS)

lint: tools

# The fault suite, then its table and the limits of the local stack in docs/reliability.md.
reliability-report: setup
	$(PY) -m pytest tests/faults --reliability-report docs/reliability.md $(PYTEST_ARGS)

# Measured figures (bench/results/latest.json), then what they cost and how the
# pool scales on paper (docs/performance.md).
bench: setup
	$(PY) -m benchmarks $(ARGS)
	$(PY) -m benchmarks.costs
	$(PY) -m benchmarks.scaling

# Only the Lambda functions' cold starts (a part of `make bench`), into the same results file.
bench-coldstart: setup
	$(PY) -m benchmarks.coldstart $(ARGS)

# The messages' TypedDicts (polybot/contracts/messages.py), after a change to messages.schema.json.
.PHONY: contracts
contracts: $(VENV)/.installed
	$(PY) -m polybot.contracts.generate

clean:
	rm -rf $(VENV) $(TOOLS) node_modules out build .aws-sam .pytest_cache .mypy_cache .ruff_cache
