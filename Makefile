# Every target sets itself up: a fresh clone needs only python3 (3.11+), and, for the
# tests and the demo, the Google Cloud SDK with its Pub/Sub emulator and Java.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: test demo bench soak lint docs terraform-check setup dist clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The documentation site, strict: a broken link or anchor, or a page missing from mkdocs.yml's
# nav, fails it. (NO_MKDOCS_2_WARNING quiets Material's banner about its successor.)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

test: lint docs
	$(VENV)/bin/python -m pytest

demo: $(STAMP)
	$(VENV)/bin/python -m localdev.local_stack.demo

bench: $(STAMP)
	$(VENV)/bin/python -m localdev.local_stack.bench

# 10,000 alerts with Kubernetes faults and a responder kill; fails on any loss or double action.
soak: $(STAMP)
	$(VENV)/bin/python -m localdev.local_stack.soak --alerts 10000

terraform-check:
	bash .ci/terraform-checks

# The release files: a wheel and an sdist in dist/, versioned by the git tag (vX.Y.Z).
dist: $(STAMP)
	rm -rf dist
	$(VENV)/bin/python -m build --outdir dist .

clean:
	rm -rf $(VENV) .venv-checkov .pytest_cache .ruff_cache bench-results site dist
