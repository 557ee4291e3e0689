# Two commands do all set-up on a fresh machine:
#   make demo   create .venv, install srnas, run the main job on the embedded default data
#   make test   create .venv, install srnas, run the whole test suite (CI calls this)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.srnas-installed

.PHONY: demo test venv clean

venv: $(STAMP)

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/srnas demo

test: $(STAMP)
	$(PY) -m pytest -q -ra

clean:
	rm -rf $(VENV) experiments results tb_logger demo_output
