# Haicang: `make run` sets everything up and serves the demo; `make test` runs the suite.
VENV    ?= .venv
PYTHON  ?= python3
BIN      = $(VENV)/bin
HOST    ?= 127.0.0.1
PORT    ?= 5000
CHROMIUM ?= /usr/bin/chromium

.PHONY: run setup test test-sqlite bench browser nginx services clean

run: setup
	$(BIN)/flask --app server serve --demo --host $(HOST) --port $(PORT)

setup: $(VENV)/.installed static/dist/.built

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

static/dist/.built: node_modules/.installed $(shell find static/src templates -type f 2>/dev/null) build.mjs
	npm run build
	touch $@

# Browser tests drive Debian's chromium; Playwright never downloads a browser here.
browser:
	@test -x $(CHROMIUM) && test -d /usr/share/fonts/opentype/noto || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk)

# The load test (bench/production.py) runs its own nginx in front of the web processes:
# Debian's package, installed if missing. Its own config, port and pid, never the
# system's service (which the package may leave stopped or running: it is not used).
NGINX ?= /usr/sbin/nginx
nginx:
	@test -x $(NGINX) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx)

# PostgreSQL and Redis, started if they are down (the commands this machine kind uses).
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 1; done; echo "PostgreSQL or Redis did not come up" >&2; exit 1

# The whole suite, on SQLite and on PostgreSQL, with Redis and the browser.
test: setup browser nginx services
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Without PostgreSQL, Redis or a browser: the SQLite half only (deselects, never skips).
test-sqlite: setup
	HAICANG_TEST_BACKENDS=sqlite $(BIN)/python -m pytest -m "not postgresql and not browser" $(PYTEST_ARGS)

bench: setup nginx services
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules static/dist instance test-artifacts
