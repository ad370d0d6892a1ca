# Two commands for a new user: `make demo` and `make test`. Both create .venv first when it is missing.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# pyproject.toml lists everything, mediapipe included (docs/install.md): `pip install .` alone works.
DEMO_DIR ?= demo_run

.PHONY: install demo test clean bench

$(VENV)/.installed: pyproject.toml Makefile
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (avcorr needs Python 3.11; set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet torch==2.13.0
	@# a venv from before mediapipe's own requirements were declared: drop its second cv2 provider first
	$(PIP) uninstall --quiet -y opencv-python-headless 2>/dev/null || true
	$(PIP) install --quiet -e '.[test]'
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
