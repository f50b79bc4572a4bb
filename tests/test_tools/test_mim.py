"""`mim train mmssl` / `mim test mmssl`: the package carries its configs and tools for mim."""

import json
import re
import sys
from pathlib import Path

import pytest

from mmssl.testing.runs import latest_checkpoint, run_tool
from mmssl.testing.toy import toy_reference_mse

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
    reported = json.loads(metrics_file.read_text())['mse']
    assert reported == pytest.approx(float(match.group(1)), rel=1e-3, abs=1e-4)
    # the metric of the checkpoint mim was given, recomputed from its weights; the earlier
    # checkpoint scores differently, so a test of the wrong weights would not pass
    expected = toy_reference_mse(ckpt)
    assert reported == pytest.approx(expected, rel=1e-5)
    earlier = toy_reference_mse(tmp_path / 'iter_4.pth')
    assert abs(earlier - expected) > 1e-3 * expected
