# Two commands: `make run` (dashboard on the sample data) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DB ?= data/parity.duckdb
DATA ?= sample_data
PORT ?= 8501

.PHONY: run test bench loadtest db lint browser clean sample

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Rebuild the database when it is missing or older than any file of the export, or than the code that
# writes it (a database of another schema version is refused by the app with a plain message).
$(DB): $(VENV)/.installed $(wildcard $(DATA)/*.csv $(DATA)/*.csv.gz $(DATA)/*.parquet) parity/macros.sql $(wildcard parity/ingest/*.py)
	@# Exit 1 means some rows were rejected and listed; the database still holds every good row.
	$(PY) -m parity ingest $(DATA) --db $(DB) || [ $$? -eq 1 ]

db: $(DB)

# Chromium draws charts as images (PNG downloads, the meeting pack): installed as for the tests.
run: $(DB) browser
	PARITY_DB_PATH=$(DB) $(PY) -m parity.serve --server.address 127.0.0.1 --server.port $(PORT)

# Debian's Chromium (and the DejaVu fonts the PDF pack uses) for the browser tests, PNG downloads and the
# meeting pack; installed when missing and we are root. Elsewhere the pack button says Chromium is missing.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium (browser tests, chart images, the meeting pack)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	fi

test: $(VENV)/.installed-dev browser
	$(PY) -m ruff check parity pages tests tools app.py
	$(PY) -m pytest -q

bench: $(VENV)/.installed-dev
	$(PY) -m tools.bench

# Not part of `make test`: 50 sessions for 5 minutes on one server over about 1M cases, an ingest
# mid-run and a killed server restarted (tools/loadtest.py). Only ever 127.0.0.1.
loadtest: $(VENV)/.installed-dev
	$(PY) -m tools.loadtest --sessions 50 --minutes 5

sample: $(VENV)/.installed
	$(PY) -m tools.synth --out sample_data --seed 2026 --scale 10 --format csv.gz

clean:
	rm -rf $(VENV) data test-output
