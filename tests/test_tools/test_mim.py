"""`mim train mmssl` / `mim test mmssl`: the package carries its configs and tools for mim."""

import json
import re
import sys
from pathlib import Path

import pytest

from mmssl.testing.runs import latest_checkpoint, run_tool

MIM = str(Path(sys.executable).with_name('mim'))
TOY = 'tests/data/configs/toy_regression.py'


def test_mim_finds_packaged_tools_and_configs():
    import mmssl

    mim_dir = Path(mmssl.__file__).parent / '.mim'
    assert (mim_dir / 'tools' / 'train.py').is_file()
    assert (mim_dir / 'tools' / 'test.py').is_file()
    assert (mim_dir / 'configs' / '_base_' / 'default_runtime.py').is_file()


def test_mim_train_then_test(tmp_path):
    run_tool([MIM, 'train', 'mmssl', TOY, '--work-dir', str(tmp_path)])
    ckpt = latest_checkpoint(tmp_path)
    assert ckpt is not None and ckpt.name == 'iter_8.pth'
    metrics_file = tmp_path / 'metrics.json'
    proc = run_tool(
        [
            MIM,
            'test',
            'mmssl',
            TOY,
            '--checkpoint',
            str(ckpt),
            '--work-dir',
            str(tmp_path / 'test'),
            '--metrics-json',
            str(metrics_file),
        ]
    )
    out = proc.stdout + proc.stderr
    match = re.search(r'mse: ([0-9.]+)', out)
    assert match, out[-3000:]
    assert float(match.group(1)) >= 0
    assert json.loads(metrics_file.read_text())['mse'] == pytest.approx(float(match.group(1)), rel=1e-3)
