# mmssl: `make demo` and `make test` set up .venv when needed (idempotent), then run.
PY := .venv/bin/python
STAMP_DEPS := tools/setup/install_stack.sh pyproject.toml
SYNTH := data/synthetic-nuscenes
DEMO_CONFIG ?= configs/nsmae/nsmae_bevfusion_demo.py
PYTEST_ARGS ?=

.PHONY: setup test demo data lint clean-venv

setup:
	@bash tools/setup/install_stack.sh

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

# A world is finished only when its completeness marker exists (written last, then the staging
# folder is renamed into place); a folder without it is regenerated.
data: setup
	@[ -f $(SYNTH)/WORLD_COMPLETE.json ] || \
	  $(PY) tools/create_synthetic_nuscenes.py --out $(SYNTH)

demo: setup data
	.venv/bin/mim train mmssl $(DEMO_CONFIG) --work-dir work_dirs/demo

lint: setup
	.venv/bin/ruff check mmssl tools tests projects configs
	.venv/bin/ruff format --check mmssl tools tests projects

clean-venv:
	rm -rf .venv
