# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
LOCAL := var

.PHONY: run test lint bench load clean

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-run

# Embedded default: SQLite (WAL) and a Celery worker on kombu's filesystem
# transport, both under ./var; Ctrl-C stops the worker and the server.
run: $(VENV)/.installed-run
	@mkdir -p $(LOCAL)
	@test -s $(LOCAL)/secret_key || $(PY) -c 'import secrets; print(secrets.token_urlsafe(50))' > $(LOCAL)/secret_key
	@export DEBUG=1 HTTPS_ONLY=0 SECRET_KEY="$$(cat $(LOCAL)/secret_key)"; \
	$(PY) manage.py migrate --noinput && \
	$(PY) manage.py load_instruments && \
	$(PY) manage.py demo && \
	{ $(VENV)/bin/celery -A rqs worker -P solo -B -l WARNING \
	    --schedule $(LOCAL)/celerybeat-schedule & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	  echo "Serving http://127.0.0.1:$(PORT)  (Ctrl-C stops the server and the worker)"; \
	  $(PY) manage.py runserver --noreload 127.0.0.1:$(PORT); }

test: $(VENV)/.installed-dev
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy assessments rqs
	$(VENV)/bin/lint-imports

bench: $(VENV)/.installed-dev
	$(PY) bench/run.py

load: $(VENV)/.installed-dev
	$(PY) bench/load.py

clean:
	rm -rf $(VENV) staticfiles *.egg-info
