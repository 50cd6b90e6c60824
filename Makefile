# pamedspa: `make run` sets everything up and serves http://127.0.0.1:8000/; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
MANAGE := $(BIN)/python manage.py

# Local development defaults; real environment variables win.
export DJANGO_DEBUG ?= on

.PHONY: run serve test e2e lint format check-deploy bench lighthouse tools clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "pamedspa needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

## run: install, migrate (loads the seed policy once) and serve the site at http://127.0.0.1:$(PORT)/
run: export DJANGO_SITE_URL ?= http://127.0.0.1:$(PORT)
run: $(VENV)/.installed .env
	$(MANAGE) migrate --no-input
	$(MANAGE) runserver 127.0.0.1:$(PORT)

# Local settings for manage.py commands run by hand; never overwritten once it exists.
.env:
	printf '# Local development settings written by `make run` (see .env.example).\nDJANGO_DEBUG=on\n' > $@

## serve: production-like: gunicorn, DEBUG off, whitenoise serving collected, compressed static files
serve: export DJANGO_DEBUG = off
serve: export DJANGO_HTTPS ?= off
serve: export DJANGO_SECRET_KEY ?= local-serve-$(shell hostname)-not-for-production
serve: export DJANGO_SITE_URL ?= http://127.0.0.1:$(PORT)
serve: $(VENV)/.installed
	$(MANAGE) migrate --no-input
	$(MANAGE) collectstatic --no-input --verbosity 0
	$(BIN)/gunicorn --config pamedspa/gunicorn.conf.py --no-control-socket --bind 127.0.0.1:$(PORT) pamedspa.wsgi

## tools: the W3C Nu HTML Checker (vnu.jar, from npm, pinned) that the suite runs when Java is here,
## the MDN HTTP Observatory (pinned) that tests/integration/test_deploy.py runs against nginx, and
## axe-core (pinned) that tests/e2e/test_accessibility.py runs in the browser
VNU_JAR_VERSION := 26.9.27
OBSERVATORY_VERSION := 1.4.8
AXE_VERSION := 4.14.1
OBSERVATORY := .tools/node_modules/@mdn/mdn-http-observatory
tools: .tools/node_modules/vnu-jar/build/dist/vnu.jar $(OBSERVATORY)/conf/hsts-preload.json \
  .tools/node_modules/axe-core/axe.min.js

.tools/node_modules/axe-core/axe.min.js:
	npm install --prefix .tools --no-audit --no-fund --ignore-scripts --save-exact axe-core@$(AXE_VERSION)

.tools/node_modules/vnu-jar/build/dist/vnu.jar:
	npm install --prefix .tools --no-audit --no-fund --ignore-scripts vnu-jar@$(VNU_JAR_VERSION)

# Its install script downloads Chrome's HSTS preload list from GitHub, out of reach here; the list
# only changes the grade of a host on it, and neither localhost nor the site is, so it is empty.
$(OBSERVATORY)/conf/hsts-preload.json:
	npm install --prefix .tools --no-audit --no-fund --ignore-scripts --save-exact \
	  @mdn/mdn-http-observatory@$(OBSERVATORY_VERSION)
	echo '{}' > $@

## test: the whole suite (browser tests included) on the configured database
test: $(VENV)/.installed-dev
	$(BIN)/pytest

## e2e: only the browser tests
e2e: $(VENV)/.installed-dev
	$(BIN)/pytest tests/e2e

## lint: every hook in .pre-commit-config.yaml (django-upgrade, ruff check, ruff format, import-linter's
## contracts) on every tracked file, then bandit, migrations in step with models, Django's system checks
lint: $(VENV)/.installed-dev
	$(BIN)/pre-commit run --all-files --show-diff-on-failure
	$(BIN)/bandit -r accounts policy pamedspa -q
	$(MANAGE) makemigrations --check --dry-run
	$(MANAGE) check --fail-level WARNING

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## check-deploy: Django's deployment checklist under production settings
check-deploy: $(VENV)/.installed
	DJANGO_DEBUG=off DJANGO_SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	DJANGO_ALLOWED_HOSTS=pamedspa.example DJANGO_SITE_URL=https://pamedspa.example DJANGO_ADMINS=ops@pamedspa.example \
	$(MANAGE) check --deploy --fail-level WARNING

## bench: benchmarks (not tests): HTTP pages vs a bare Django view and a stock project (gunicorn + wrk), what each middleware costs, the same
## through nginx (micro-cache, and bypassed by a session), then the notice fan-out to 100,000 users through a local SMTP sink, then the account-enumeration timing pairs
bench: $(VENV)/.installed-dev
	$(BIN)/python -m tests.bench.http --seconds $${BENCH_SECONDS:-10} --soak $${BENCH_SOAK:-60}
	$(BIN)/python -m tests.bench.middleware
	$(BIN)/python -m tests.bench.nginx --seconds $${BENCH_SECONDS:-10}
	$(BIN)/python -m tests.bench.notices --users $${BENCH_USERS:-100000} --send-seconds 20
	$(BIN)/python -m tests.bench.timing --samples $${BENCH_SAMPLES:-30}

## lighthouse: Lighthouse scores for /privacy/ and /accounts/login/ (needs npm and chromium)
lighthouse: $(VENV)/.installed-dev
	$(BIN)/python -m tests.bench.lighthouse

clean:
	rm -rf $(VENV) .tools staticfiles .pytest_cache .ruff_cache
