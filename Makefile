# Minato City multilingual FAQ assistant. `make help` lists the targets.
# Everything runs from the repository root inside .venv, created on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements/requirements.lock
STAMP  := $(VENV)/.installed-$(shell sha256sum $(LOCK) | cut -c1-12)
RASA_DATA := --data data/nlu data/rules --domain domain.yml --config config.yml
QUESTIONS ?= tests/data/dev_questions.yaml

export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

.PHONY: help install run train test lint validate pytest test-stories browser eval bench lock clean staff-user

help:  ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

install: $(STAMP)  ## Create .venv, install the pinned dependencies (once per lock change), build the e5 engine
	@$(BIN)/python -m bot.nlu.e5engine build

$(STAMP): $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23.2"
	@# Every package is pinned in the lock; rasa and rasa-sdk declare python<3.11 but run on 3.11.
	$(BIN)/python -m pip install --quiet --no-deps --ignore-requires-python -r $(LOCK)
	@rm -f $(VENV)/.installed-* && touch $@

train: install  ## Train the model if data, config or components changed (else reuse it)
	$(BIN)/python -m bot.train

run: install  ## Install, train if needed, and start the assistant (http://localhost:5005/webhooks/web/, PORT to change)
	$(BIN)/python -m bot.run

lint: install  ## Lint the code (ruff)
	$(BIN)/ruff check bot actions tests bench

validate: install  ## Check the content against the catalog, then `rasa data validate`
	$(BIN)/python -m bot.content check
	$(BIN)/rasa data validate $(RASA_DATA) --fail-on-warnings

browser:  ## Install Debian's Chromium and CJK/Devanagari/Thai fonts for the browser tests, if missing
	@{ test -x /usr/bin/chromium && test -d /usr/share/fonts/opentype/noto; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium fonts-noto-cjk fonts-noto-core >/dev/null; \
	  else echo "Chromium is missing: run 'sudo apt-get install chromium' for the browser tests" >&2; exit 1; fi; }

pytest: install browser  ## Run the pytest suite (trains a model once, cached in models/)
	@# Real-browser tests run in their own process: Playwright's sync API owns the main thread's event loop.
	$(BIN)/python -m pytest --ignore=tests/browser --ignore=tests/staff/test_browser.py
	$(BIN)/python -m pytest tests/browser tests/staff/test_browser.py

test-stories: install  ## Run the conversation tests (tests/test_*.yml) against the trained model
	$(BIN)/rasa test core --stories tests/ --model $$($(BIN)/python -m bot.train) \
	  --fail-on-prediction-errors --out results/stories

test: install browser lint validate pytest test-stories  ## Install and run the whole test suite

staff-user: install  ## Create a log-in for the staff admin page: make staff-user NAME=sato
	$(BIN)/python -m bot.staff add-user $(NAME)

eval: install  ## NLU evaluation on a questions file: make eval QUESTIONS=path/to/questions.yml
	$(BIN)/python -m bench.eval_nlu $(QUESTIONS)

bench: install  ## Benchmarks: start-up, memory, webhook latency (prints numbers)
	$(BIN)/python -m bench.bench_server

lock:  ## Re-resolve requirements.in into the lock file (needs the package registry)
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --prefer-binary -r requirements/requirements.in
	.venv-lock/bin/pip install --quiet --no-deps --ignore-requires-python rasa==3.6.21 rasa-sdk==3.6.2
	{ sed -n '1,3p' $(LOCK); .venv-lock/bin/pip freeze --exclude-editable | grep -v -E '^(pip|setuptools)=='; \
	  echo 'setuptools==70.3.0'; } > $(LOCK).new && mv $(LOCK).new $(LOCK) && rm -rf .venv-lock

clean:  ## Remove trained models, results and local state (not the venv)
	rm -rf models results .state tests/artifacts
