# The two commands README starts with: `make demo` (then serves the web application) and `make test`. Both build the virtualenv on first use.
VENV ?= .venv
PYTHON ?= python3

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $@

.PHONY: install demo test lint contract bench validate-deploy render-deploy
install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/cchc demo --serve

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

test: $(VENV)/.installed
	bash scripts/ensure-services.sh
	$(VENV)/bin/ruff check .
	bash scripts/validate-deploy.sh
	$(VENV)/bin/pytest -q

contract: $(VENV)/.installed
	$(VENV)/bin/cchc contract --out docs/contract

bench: $(VENV)/.installed
	bash scripts/ensure-services.sh
	$(VENV)/bin/python bench/ingest_throughput.py

validate-deploy: $(VENV)/.installed
	bash scripts/validate-deploy.sh

render-deploy: $(VENV)/.installed
	$(VENV)/bin/python deploy/render.py
