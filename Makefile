# Two commands do all set-up on a fresh machine:
#   make demo   sync the built-in demo site (Confluence simulator) into a local Elasticsearch node
#   make test   run the test suite (starts its own Elasticsearch node when none is running)
PYTHON_BOOTSTRAP ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test es-start es-stop es-status bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON_BOOTSTRAP) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

# Bytecode for the project's own modules: an editable install leaves them uncompiled, and where
# PYTHONDONTWRITEBYTECODE is set every run would compile them again. Only changed files are recompiled.
install: $(STAMP)
	$(PY) -m compileall -q confluence_source destinations pipelines confluence_simulator es_local bench

es-start: install
	$(PY) -m es_local start

es-stop:
	$(PY) -m es_local stop

es-status:
	$(PY) -m es_local status

demo: install es-start
	$(PY) pipelines/confluence_to_es.py --demo

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install es-start
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) es_local/target .es-data
