# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
LOCAL := var

.PHONY: run test lint bench load clean messages

# `make run` prints the address and the demo accounts last, once the server
# answers, so they are not lost above the server's own start-up lines.
define WAIT_READY
import sys, time, urllib.request
url = sys.argv[1]
for _ in range(600):
    try:
        urllib.request.urlopen(url + "/healthz", timeout=2)
        break
    except Exception:
        time.sleep(0.5)
print(f"\n==> Ready: open {url}/  (Ctrl-C stops the server and the worker;\n    the worker writes to var/worker.log)")
endef
export WAIT_READY

$(VENV)/bin/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(VENV)/bin/python
	@echo "==> Installing the Python packages into $(VENV) (a minute or two the first time)"
	@$(PY) -m pip install --quiet --progress-bar on -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-run

# Embedded default: SQLite (WAL) and a Celery worker on kombu's filesystem
# transport, both under ./var; Ctrl-C stops the worker and the server. The one
# worker consumes every queue (docs/scaling.md splits them in production).
run: $(VENV)/.installed-run
	@mkdir -p $(LOCAL)
	@test -s $(LOCAL)/secret_key || $(PY) -c 'import secrets; print(secrets.token_urlsafe(50))' > $(LOCAL)/secret_key
	@export DEBUG=1 HTTPS_ONLY=0 SECRET_KEY="$$(cat $(LOCAL)/secret_key)"; \
	echo "==> [1/4] Preparing the database ($(LOCAL)/rqs.sqlite3)"; \
	$(PY) manage.py migrate --noinput -v 0 && \
	echo "==> [2/4] Loading the instruments (RQS, METRICS, CLEAR, QUADAS-2, ...)" && \
	$(PY) manage.py load_instruments && \
	echo "==> [3/4] Creating the demo project and accounts" && \
	$(PY) manage.py demo > $(LOCAL)/demo.txt && \
	echo "==> [4/4] Starting the background worker and the web server" && \
	{ $(VENV)/bin/celery -A rqs --quiet worker -P solo -B -Q celery,reports -l WARNING \
	    --schedule $(LOCAL)/celerybeat-schedule > $(LOCAL)/worker.log 2>&1 & worker=$$!; \
	  { $(PY) -c "$$WAIT_READY" http://127.0.0.1:$(PORT) && cat $(LOCAL)/demo.txt; } & ready=$$!; \
	  trap 'kill $$worker $$ready 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
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

# Refresh the Dutch and German catalogues from the marked strings (GNU gettext:
# apt-get install gettext), then compile them; the compiled .mo files are
# committed, so `make run` needs no gettext. tests/test_translations.py fails
# until every new string is translated.
messages: $(VENV)/.installed-dev
	DEBUG=1 $(PY) manage.py update_catalogues

clean:
	rm -rf $(VENV) staticfiles *.egg-info
