"""Kill a CPU training run with SIGKILL after a checkpoint, resume it, check it continues."""

import os
import signal
import subprocess
import sys
import time

import torch

from mmssl.testing.paths import REPO_ROOT
from mmssl.testing.runs import latest_checkpoint, run_tool, tool_env

TOY = 'tests/data/configs/toy_regression.py'
SLOW = [
    'train_cfg.max_iters=40',
    'default_hooks.checkpoint.interval=2',
    'train_dataloader.dataset.delay_s=0.05',
]


def test_sigkill_then_resume_continues_from_checkpoint(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, 'tools/train.py', TOY, '--work-dir', str(tmp_path), '--cfg-options', *SLOW],
        cwd=REPO_ROOT,
        env=tool_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    while time.time() < deadline:
        ckpt = latest_checkpoint(tmp_path)
        if ckpt is not None and ckpt.name in ('iter_6.pth', 'iter_8.pth'):
            break
        assert proc.poll() is None, 'training ended before it could be killed'
        time.sleep(0.05)
    else:
        raise AssertionError('no checkpoint within the deadline')
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    ckpt = latest_checkpoint(tmp_path)
    saved = torch.load(ckpt, map_location='cpu')  # must load whole: written atomically
    for pth in tmp_path.glob('iter_*.pth'):
        torch.load(pth, map_location='cpu')  # every named checkpoint is complete
    killed_at = saved['meta']['iter']
    assert 0 < killed_at < 40
    (tmp_path / 'state_before_train_rank0.pt').unlink()

    run_tool(['tools/train.py', TOY, '--work-dir', str(tmp_path), '--resume', '--cfg-options', *SLOW])
    resumed = torch.load(tmp_path / 'state_before_train_rank0.pt')
    assert resumed['iter'] == killed_at, 'the iteration counter must continue, not restart'
    for key, value in saved['state_dict'].items():
        torch.testing.assert_close(resumed['params'][key], value, rtol=0, atol=0)
    saved_opt, resumed_opt = saved['optimizer']['state'], resumed['optimizer']['state']
    assert set(saved_opt) == set(resumed_opt)
    for idx in saved_opt:
        assert int(resumed_opt[idx]['step']) == int(saved_opt[idx]['step']) == killed_at
        torch.testing.assert_close(resumed_opt[idx]['exp_avg'], saved_opt[idx]['exp_avg'])
    final = torch.load(tmp_path / 'state_after_train_rank0.pt')
    assert final['iter'] == 40
    assert latest_checkpoint(tmp_path).name == 'iter_40.pth'
