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

# pytest exits 5 when it collected no test: that is a failure here, not a pass.
test: install browser
	$(PY) -m pytest -q; code=$$?; \
	if [ $$code -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi; exit $$code

lint: install
	$(VENV)/bin/ruff check govaudit crawler checks reports demo tests

clean:
	rm -rf $(VENV) var out
