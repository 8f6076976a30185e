# Two entry points on a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
EDGE_VENV ?= .venv-edge
PIP_FLAGS ?= -q --disable-pip-version-check

.PHONY: demo test setup setup-edge clean

# The device-side install alone (no TensorFlow), then the pipeline on the shipped sample photo.
setup-edge: $(EDGE_VENV)/.installed
$(EDGE_VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(EDGE_VENV)
	$(EDGE_VENV)/bin/pip install $(PIP_FLAGS) -e .
	touch $@

demo: setup-edge
	$(EDGE_VENV)/bin/fer-edge run --source samples/astronaut.jpg --headless --jsonl - --output-video demo_out.jpg
	@echo "annotated picture: demo_out.jpg"

# Host and device side together (TensorFlow for training and conversion, pandas for analysis), then the test suite.
setup: $(VENV)/.installed
$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -e ".[train,test,analysis,events]"
	# MediaPipe only as the reference the LiteRT BlazeFace is tested against (tests skip without it);
	# --no-deps: its requirements would add opencv-contrib-python beside opencv-python-headless.
	$(VENV)/bin/pip install $(PIP_FLAGS) --no-deps "mediapipe==1.2.3"
	touch $@

test: setup
	$(VENV)/bin/python -m pytest -q

clean:
	rm -rf $(VENV) $(EDGE_VENV) demo_out.jpg .pytest_cache
