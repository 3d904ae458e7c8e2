# Two commands on a fresh machine:  make run   and   make test
SHELL := /bin/bash
export PYTHONPATH := $(CURDIR)
# Quiet noise that says nothing to a clinic: TF's C++ banner, SQLAlchemy 2.0 notice. Other packages'
# deprecation warnings are filtered in triage/__init__.py, which every command below imports first.
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
# Rasa's telemetry and its Sentry error reports would send data off the premises.
export RASA_TELEMETRY_ENABLED := false

.PHONY: help install model train validate run run-prod shell test unit lint clean bench eval

help:
	@echo "make run     install what is missing, train if needed, serve on http://localhost:5005"
	@echo "make test    install what is missing and run every test"
	@echo "make unit    the tests that need no trained model, servers or services (under a minute)"
	@echo "make lint    style check (ruff; rules in pyproject.toml)"
	@echo "make shell   chat with the assistant in the terminal"
	@echo "make train   retrain if data/config changed; the new model goes live only through the safety gate"
	@echo "make eval    evaluation report in reports/, compared with Rasa's default pipeline"

install:
	@scripts/setup-venv

model train: install
	@scripts/train-if-needed

validate: install
	@.venv/bin/python -c 'import triage, rasa.__main__; rasa.__main__.main()' data validate --fail-on-warnings --quiet

run: model
	@mkdir -p var
	@scripts/run

shell: model
	@mkdir -p var
	@scripts/shell

test: model
	@scripts/ensure-nginx
	@scripts/ensure-chromium
	@echo "==> Running the tests"
	@.venv/bin/python -m pytest -q

# tests/markers.py marks what each test needs; the rest runs here without a model or services.
unit: install
	@.venv/bin/python -m pytest -q -m "not server and not model and not services" --durations=5

lint: install
	@.venv/bin/ruff check .

clean:
	rm -rf models var .pytest_cache

eval: model
	@.venv/bin/triage eval

bench: model
	@scripts/ensure-nginx
	@.venv/bin/python -m bench.run

run-prod: model
	@scripts/run-prod
