# Aftercare: two commands on a fresh machine.
#   make run   - set everything up and start the local stack with a demo store
#   make test  - set everything up and run lint, types and every test suite
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8000
REGION ?= us-east-1

.PHONY: run test soak lint typecheck unit integration e2e browser package bench system-deps clean

$(STAMP): pyproject.toml requirements.txt constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) is required (Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "pip>=24,<26.3"  # chalice 1.34 needs pip below 26.3
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/aftercare dev --demo --port $(PORT)

system-deps:
	@scripts/ensure-system-packages.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) system-deps lint typecheck
	$(BIN)/pytest -n 2 --dist loadgroup

# The model-based test of every invariant, long (hundreds of histories), plus the fuzzers at full size.
soak: $(STAMP)
	AFTERCARE_MODEL_PROFILE=soak $(BIN)/pytest -p no:cacheprovider tests/integration/test_invariants_model.py
	AFTERCARE_FUZZ_EXAMPLES=5000 $(BIN)/pytest -p no:cacheprovider tests/integration/test_webhook_fuzz.py
	AFTERCARE_SCHEMATHESIS_EXAMPLES=100 $(BIN)/pytest -p no:cacheprovider tests/e2e/test_api_fuzz.py

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

e2e: $(STAMP)
	$(BIN)/pytest tests/e2e

browser: $(STAMP) system-deps
	$(BIN)/pytest tests/browser

# checkov (the IaC scanner make package runs) pins boto3 1.35, older than the project's, so it has a venv
# of its own inside .venv, pinned by constraints-checkov.txt.
CHECKOV := $(VENV)/checkov/bin/checkov

$(CHECKOV): constraints-checkov.txt
	test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet -c constraints-checkov.txt checkov
	touch $(CHECKOV)

package: $(STAMP) $(CHECKOV)
	AWS_DEFAULT_REGION=$(REGION) $(BIN)/python -m aftercare.packaging --out build/package --checkov $(CHECKOV)

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf build vendor .aftercare .pytest_cache .mypy_cache .ruff_cache
