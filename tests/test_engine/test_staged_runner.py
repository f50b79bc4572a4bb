"""StagedRunner: pre-train -> fine-tune from its checkpoint -> test, resumable by stage."""

import json

import pytest
import torch

from mmssl.testing.runs import run_tool
from mmssl.testing.toy import toy_reference_mse

STAGED = 'tests/data/configs/toy_staged.py'


def test_stages_chain_checkpoints_and_skip_when_done(tmp_path):
    run_tool(['tools/train.py', STAGED, '--work-dir', str(tmp_path)])
    first = torch.load(tmp_path / 'pretrain' / 'state_after_train_rank0.pt')
    second_start = torch.load(tmp_path / 'finetune' / 'state_before_train_rank0.pt')
    for key, value in first['params'].items():
        torch.testing.assert_close(second_start['params'][key], value, rtol=0, atol=0)
    done = json.loads((tmp_path / 'finetune' / 'stage_done.json').read_text())
    assert done['checkpoint'].endswith('iter_4.pth')
    # the test stage scored the fine-tuned checkpoint (recomputed from its weights), not the
    # pre-trained one it started from
    expected = toy_reference_mse(tmp_path / 'finetune' / 'iter_4.pth')
    assert done['metrics']['mse'] == pytest.approx(expected, rel=1e-5)
    assert abs(toy_reference_mse(tmp_path / 'pretrain' / 'iter_8.pth') - expected) > 1e-3 * expected
    stamp = (tmp_path / 'finetune' / 'stage_done.json').stat().st_mtime_ns

    proc = run_tool(['tools/train.py', STAGED, '--work-dir', str(tmp_path)])
    assert "stage 'pretrain': done before, skipped" in proc.stdout + proc.stderr
    assert (tmp_path / 'finetune' / 'stage_done.json').stat().st_mtime_ns == stamp
