# `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The second test run: the same suite on PostgreSQL and Redis.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: install install-dev run test test-embedded test-services lint format clean messages bench bench-quick vendor

# The server's requirements only (make run); the tests' and linters' on top of
# them (make test, make lint).
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# A developer's settings (chatsite/settings.py reads .env, git ignores it):
# DEBUG on and a key of this checkout's own, so that every manage.py command
# works without DEBUG=1. Written once; the environment still wins over it.
.env:
	@umask 077 && $(PYTHON) -c 'import secrets; print("DEBUG=1"); \
		print("SECRET_KEY=" + secrets.token_urlsafe(50))' > $@.tmp && mv $@.tmp $@
	@echo "Wrote .env (DEBUG=1 and a new SECRET_KEY) for development."

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed .env

install-dev: install $(VENV)/.dev-installed

run: install
	$(PY) manage.py migrate --noinput
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) chatsite.asgi:application

test: test-embedded test-services

test-embedded: install-dev
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest $(PYTEST_ARGS)

test-services: install-dev
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

# The benchmark (docs/performance.md): our server beside the references, on both
# engines. BENCH_ARGS passes options through, e.g. BENCH_ARGS="--quick".
BENCH_ARGS ?=

$(VENV)/.bench-installed: $(VENV)/.dev-installed requirements-bench.txt
	$(PY) -m pip install --quiet -r requirements-bench.txt
	touch $@

bench: install-dev $(VENV)/.bench-installed
	$(PY) -m bench $(BENCH_ARGS)

bench-quick: install-dev $(VENV)/.bench-installed
	$(PY) -m bench --quick $(BENCH_ARGS)

# Style, then the layering (import-linter contracts), then the types (mypy) of
# the modules other code leans on; the settings of both are in pyproject.toml.
MYPY_PATHS := chat/realtime chat/services chat/selectors.py chat/search accounts/tokens.py accounts/email.py
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy $(MYPY_PATHS)

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# After changing a visible string: extract, fill the Chinese from
# locale/fill_zh_hans.py (it names what it lacks), compile. The .mo files are
# committed, so a checkout needs no gettext tools.
MAKEMESSAGES := $(PY) manage.py makemessages -l zh_Hans --no-obsolete \
	--ignore .venv --ignore staticfiles --ignore 'tests/*' --ignore 'locale/*' \
	--ignore 'static/vendor/*' --ignore .vendor-tmp
messages: install
	$(MAKEMESSAGES)
	$(MAKEMESSAGES) -d djangojs
	$(PY) locale/fill_zh_hans.py
	$(PY) manage.py compilemessages --ignore .venv

# The browser libraries under static/vendor/, pinned: `make vendor` fetches these
# exact versions from the npm registry (npm pack) and copies the ES module and the
# licence of each. The files are committed, so neither run time nor a checkout
# needs npm or the internet.
MARKED_VERSION := 18.2.1
DOMPURIFY_VERSION := 3.4.18
vendor:
	rm -rf .vendor-tmp && mkdir -p .vendor-tmp static/vendor/marked static/vendor/dompurify
	cd .vendor-tmp && npm pack --silent marked@$(MARKED_VERSION) dompurify@$(DOMPURIFY_VERSION)
	tar xzf .vendor-tmp/marked-$(MARKED_VERSION).tgz -C .vendor-tmp && mv .vendor-tmp/package .vendor-tmp/marked
	tar xzf .vendor-tmp/dompurify-$(DOMPURIFY_VERSION).tgz -C .vendor-tmp && mv .vendor-tmp/package .vendor-tmp/dompurify
	grep -v '^//# sourceMappingURL' .vendor-tmp/marked/lib/marked.esm.js > static/vendor/marked/marked.esm.js
	cp .vendor-tmp/marked/LICENSE static/vendor/marked/LICENSE
	grep -v '^//# sourceMappingURL' .vendor-tmp/dompurify/dist/purify.es.mjs > static/vendor/dompurify/purify.es.js
	cp .vendor-tmp/dompurify/LICENSE .vendor-tmp/dompurify/LICENSE-MPL static/vendor/dompurify/
	echo "marked $(MARKED_VERSION) from the npm registry (make vendor)" > static/vendor/marked/VERSION
	echo "dompurify $(DOMPURIFY_VERSION) from the npm registry (make vendor)" > static/vendor/dompurify/VERSION
	rm -rf .vendor-tmp

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
