"""Crash-safe checkpoint files: atomic writes with ordinary modes, ordered rotation, stale-file cleanup."""

from __future__ import annotations

import os
import stat

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmssl.testing.runs import in_process_cfg, latest_checkpoint
from mmssl.utils.atomic_io import atomic_write_bytes, remove_stale_tmp_files

TOY = 'tests/data/configs/toy_regression.py'


def test_atomic_write_uses_ordinary_file_mode(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_bytes(b'abc', tmp_path / 'f.bin')
    finally:
        os.umask(old)
    assert (tmp_path / 'f.bin').read_bytes() == b'abc'
    assert stat.S_IMODE((tmp_path / 'f.bin').stat().st_mode) == 0o644
    assert list(tmp_path.iterdir()) == [tmp_path / 'f.bin']


def test_remove_stale_tmp_files_only_removes_writer_leftovers(tmp_path):
    (tmp_path / '.iter_4.pth.abc123.tmp').write_bytes(b'half')
    (tmp_path / 'iter_4.pth').write_bytes(b'whole')
    (tmp_path / 'notes.tmp').write_text('user file, not hidden')
    assert remove_stale_tmp_files(tmp_path) == [tmp_path / '.iter_4.pth.abc123.tmp']
    assert sorted(p.name for p in tmp_path.iterdir()) == ['iter_4.pth', 'notes.tmp']


def _runner(work_dir, max_iters, resume=False, **ckpt):
    cfg = Config.fromfile(TOY)
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_iters = max_iters
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=1, **ckpt)
    cfg.custom_hooks = []
    cfg.resume = resume
    return Runner.from_cfg(in_process_cfg(cfg))


class _Killed(BaseException):
    pass


def test_kill_during_checkpoint_write_leaves_last_checkpoint_resumable(tmp_path, monkeypatch):
    """Die inside the write of iter_3.pth (max_keep_ckpts=1): iter_2.pth must still be there."""
    import mmssl.utils.atomic_io as atomic_io

    real_replace = os.replace
    calls = {'n': 0}

    def dying_replace(src, dst):
        if str(dst).endswith('iter_3.pth'):
            raise _Killed  # the process "dies" after writing the temporary file, before renaming it
        calls['n'] += 1
        return real_replace(src, dst)

    monkeypatch.setattr(atomic_io.os, 'replace', dying_replace)
    with pytest.raises(_Killed):
        _runner(tmp_path, 5).train()
    monkeypatch.setattr(atomic_io.os, 'replace', real_replace)
    ckpt = latest_checkpoint(tmp_path)
    assert ckpt.name == 'iter_2.pth' and ckpt.exists()
    assert torch.load(ckpt, map_location='cpu')['meta']['iter'] == 2
    # A real kill -9 would leave the temporary file behind; simulate it and check the cleanup.
    (tmp_path / '.iter_3.pth.deadbeef.tmp').write_bytes(b'truncated')
    runner = _runner(tmp_path, 5, resume=True)
    runner.train()
    assert not list(tmp_path.glob('.*.tmp'))
    assert sorted(p.name for p in tmp_path.glob('iter_*.pth')) == ['iter_5.pth']
    assert latest_checkpoint(tmp_path).name == 'iter_5.pth'
    assert stat.S_IMODE((tmp_path / 'iter_5.pth').stat().st_mode) & 0o044 == 0o044  # group/other can read


def test_rotation_writes_new_checkpoint_before_deleting_old(tmp_path, monkeypatch):
    """At the moment the new file is renamed into place, the previous one still exists."""
    import mmssl.utils.atomic_io as atomic_io

    real_replace = os.replace
    seen = []

    def watching_replace(src, dst):
        if str(dst).endswith('.pth'):
            seen.append((os.path.basename(dst), sorted(p.name for p in tmp_path.glob('iter_*.pth'))))
        return real_replace(src, dst)

    monkeypatch.setattr(atomic_io.os, 'replace', watching_replace)
    _runner(tmp_path, 3).train()
    assert seen == [('iter_1.pth', []), ('iter_2.pth', ['iter_1.pth']), ('iter_3.pth', ['iter_2.pth'])]
