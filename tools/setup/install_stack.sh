#!/usr/bin/env bash
# Create .venv (if missing) and install the pinned OpenMMLab stack recorded in ../shared/STACK.md.
# Idempotent: a stamp file keyed on this script and pyproject.toml makes a second run a no-op.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${VENV:-.venv}
PY=${PYTHON:-python3.11}
STAMP="$VENV/.mmssl-stack-$(cat tools/setup/install_stack.sh pyproject.toml | sha1sum | cut -c1-12)"

if [ -f "$STAMP" ]; then
    exit 0
fi

start=$(date +%s)
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1

step() { echo "[setup $(( $(date +%s) - start ))s] $*"; }

step "pip / setuptools<70 (mmcv 2.1.0's setup.py imports pkg_resources)"
$PIP install -q --upgrade "pip<25" "setuptools<70" wheel ninja psutil
step "torch 2.9.1 / torchvision 0.24.1"
$PIP install -q torch==2.9.1 torchvision==0.24.1
step "mmengine 0.10.7"
$PIP install -q mmengine==0.10.7 "numpy==1.26.4" opencv-python-headless==4.10.0.84
if ! "$VENV/bin/python" -c "import mmcv, mmcv.ops" 2>/dev/null; then
    step "mmcv 2.1.0 from the sdist with CPU ops (about 7 minutes on 2 cores the first time; pip caches the wheel)"
    MMCV_WITH_OPS=1 MAX_JOBS=2 $PIP install -q --no-build-isolation mmcv==2.1.0
fi
step "mmdet / mmdet3d / spconv / devkit / teachers / peft (LoRA fine-tuning) / SAM superpixels / dev tools"
$PIP install -q mmdet==3.3.0 mmdet3d==1.4.0 spconv==2.3.8 cumm==0.7.11 \
    nuscenes-devkit==1.2.0 timm==1.0.31 peft==0.21.2 open_clip_torch==3.3.0 segment-anything==1.0 \
    tensorboard matplotlib pytest pytest-timeout ruff "numpy==1.26.4"
step "openmim 0.3.9 without opendatalab (it pulls openxlab, which downgrades setuptools to 60; mim never imports it)"
$PIP install -q --no-deps openmim==0.3.9
$PIP install -q Click colorama model-index pandas requests rich tabulate
step "mmssl (editable develop install, no dependency resolution: the stack above is the pin)"
# A develop install (not PEP 660) so `mim` finds mmssl/.mim/{configs,tools} in the checkout.
$PIP install -q --no-deps --no-build-isolation --no-use-pep517 -e .
# The only accepted gap: openmim's unused opendatalab requirement (left out on purpose, see above).
if "$VENV/bin/python" -m pip check | grep -v "requires opendatalab, which is not installed" | grep .; then
    echo "[setup] pip check found broken requirements (above)" >&2
    exit 1
fi
rm -f "$VENV"/.mmssl-stack-*
touch "$STAMP"
step "done"
