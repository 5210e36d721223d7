# The two commands a fresh machine needs: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: demo test lint install browser clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Debian's Chromium renders pages that build their lists in JavaScript (never `playwright install`).
# A CJK font, so that screenshots of Chinese pages (evidence in the report) show text, not boxes.
browser:
	@test -x /usr/bin/chromium || command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@fc-list :lang=zh 2>/dev/null | grep -q . || { \
	  echo "installing a Chinese font for screenshots (fonts-wqy-zenhei)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei >/dev/null; }; }

demo: install browser
	$(VENV)/bin/govaudit demo

# The PostgreSQL server of the second pass (a fresh schema per test; .ci/run starts the server when down).
TEST_PG ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

# The whole suite on SQLite, then the database tests (marked `db`: check fixtures, migrations, pipeline
# writes, crawls, end-to-end, reports and exports, lifecycle, resume) again on PostgreSQL.
# `make test TEST_PG=` leaves the second pass out. pytest exits 5 when it collected no test: a failure here.
# The tests mostly wait on crawler processes and servers: three pytest workers (pytest-xdist), each test
# file in one worker (its module-scoped crawls run once); `make test XDIST=` runs them in one process.
XDIST ?= -n 3 --dist loadfile
test: install browser
	$(PY) -m pytest -q $(XDIST); code=$$?; \
	if [ $$code -eq 5 ]; then echo "no tests were collected" >&2; code=1; fi; \
	if [ -n "$(TEST_PG)" ]; then \
	  echo "== the database tests again, on PostgreSQL ($(TEST_PG))"; \
	  GOVAUDIT_TEST_PG="$(TEST_PG)" $(PY) -m pytest -q $(XDIST) -m db --db postgresql; pg=$$?; \
	  if [ $$pg -eq 5 ]; then echo "no database tests were collected" >&2; pg=1; fi; \
	  if [ $$code -eq 0 ]; then code=$$pg; fi; \
	fi; exit $$code

lint: install
	$(VENV)/bin/ruff check govaudit crawler checks reports demo tests

clean:
	rm -rf $(VENV) var out
