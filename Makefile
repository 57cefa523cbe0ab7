# `make run` sets up .venv and runs the Libya scenario; `make test` sets up and runs the tests.
# The interpreter: the first of python3.13, python3.12, python3 that is at least 3.12.
PYTHON ?= $(shell for p in python3.13 python3.12 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test lint bench docs clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "negsim needs Python >= 3.12 on PATH (python3.12 or python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/negsim run scenarios/libya_2019.toml

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check sim tests benchmarks experiments

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/bench.py

# The API reference from the docstrings (pdoc), in build/api; fails on any warning.
docs: $(STAMP)
	$(VENV)/bin/python docs/build_api.py build/api

clean:
	rm -rf $(VENV) results .pytest_cache

# Mutation testing of the decision code (sim/negotiation.py, sim/agents.py; see [tool.mutmut] in
# pyproject.toml): a fresh run, a few minutes on 2 cores (more when many survive: a survivor runs
# every test that covers it), then the mutants that survived and the counts.
# `.venv/bin/mutmut show NAME` shows a mutant's diff, `.venv/bin/mutmut browse` all of them.
.PHONY: mutants
mutants: $(STAMP)
	rm -rf mutants
	$(VENV)/bin/mutmut run
	@echo
	@$(VENV)/bin/mutmut results
	@$(VENV)/bin/mutmut export-cicd-stats >/dev/null
	@$(VENV)/bin/python -c 'import json; s = json.load(open("mutants/mutmut-cicd-stats.json")); \
	print("mutants: {total}, killed {killed}, survived {survived}, timeout {timeout}, " \
	      "suspicious {suspicious}, no tests {no_tests}".format(**s)); \
	print("killed: {:.1%} of all mutants".format(s["killed"] / max(s["total"], 1)))'
