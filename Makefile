# Two commands for a new user: `make demo` and `make test`. Both create .venv first when it is missing.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# mediapipe 0.10.21 ships its face models in the wheel; its declared requirements pull jax and the
# GUI build of OpenCV, so we install it without them (our pyproject lists what it really needs).
MEDIAPIPE := mediapipe==0.10.21
DEMO_DIR ?= demo_run

.PHONY: install demo test clean bench

$(VENV)/.installed: pyproject.toml Makefile
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (avcorr needs Python 3.11; set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[test]'
	$(PIP) install --quiet --no-deps $(MEDIAPIPE)
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/avcorr demo --out $(DEMO_DIR)

test: install
	$(PY) -m pytest -q tests

bench: install
	$(PY) benchmarks/train_speed.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) build *.egg-info src/*.egg-info
