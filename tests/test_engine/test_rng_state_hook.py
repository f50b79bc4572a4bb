"""Checkpoints carry every generator's state and a resumed run continues exactly.

Stop-and-resume against an uninterrupted run: the toy model (noise drawn from torch's global
generator, as NS-MAE's masks and rays), and NS-MAE and CenterPoint tiny end to end on the
synthetic world through ``tools/train.py``'s runner construction (in this process, to save
the start-up time of three subprocesses). The SIGKILL variant is tests/test_tools/test_resume.py.
"""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
import torch

from mmssl.testing.runs import in_process_cfg, latest_checkpoint
from mmssl.utils.rng import capture_rng_state, owned_generators, restore_rng_state

TOY = 'tests/data/configs/toy_regression.py'


def _draws(gens=()):
    return (
        random.random(),
        float(np.random.rand()),
        float(torch.rand(1)),
        [
            float(torch.rand(1, generator=g)) if isinstance(g, torch.Generator) else float(g.random())
            for g in gens
        ],
    )


def test_capture_restore_roundtrip_through_weights_only_load():
    class Owner(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gen = torch.Generator().manual_seed(3)
            self.np_gen = np.random.default_rng(4)
            self.child = torch.nn.Linear(1, 1)
            self.child.rs = np.random.RandomState(5)

    owner = Owner()
    owned = list(owned_generators([('model', owner)]))
    assert [n for n, _ in owned] == ['model.gen', 'model.np_gen', 'model.child.rs']
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    state = capture_rng_state(owned)
    buf = io.BytesIO()
    torch.save(dict(rng_state=state), buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)['rng_state']  # no pickled numpy arrays/objects
    gens = [g for _, g in owned]
    first = _draws(gens)
    _draws(gens)  # move every generator on
    notes = restore_rng_state(loaded, owned)
    assert notes == []
    assert _draws(gens) == first
    assert restore_rng_state(loaded, []) == [
        f'saved generator {n} no longer exists; its state is dropped'
        for n in ('model.gen', 'model.np_gen', 'model.child.rs')
    ]


def _toy_cfg(work_dir, max_iters: int, resume: bool = False):
    from mmengine.config import Config

    cfg = Config.fromfile(TOY)
    cfg.work_dir = str(work_dir)
    cfg.model.noise_std = 0.5
    cfg.train_cfg.max_iters = max_iters
    cfg.default_hooks.checkpoint.interval = 3
    cfg.custom_hooks = [dict(type='ComputeStatsHook')]
    cfg.resume = resume
    cfg.randomness = dict(seed=0)
    return cfg


class _Stopped(Exception):
    """Raised by the test's stop hook: the run ends as a killed run would, after a checkpoint."""


def _train_recording_losses(runner, work_dir, stop_after=None):
    """Train, recording the total loss of every iteration; returns it and the last checkpoint.

    With ``stop_after`` the run stops right after that iteration's checkpoint, as a kill would,
    keeping its schedule (a shorter ``max_iters`` would also shorten the LR schedule it saves).
    """
    from mmengine.hooks import Hook

    losses = {}

    class LossRecorder(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            losses[runner.iter + 1] = float(outputs['loss'].detach())
            if stop_after is not None and runner.iter + 1 == stop_after:
                raise _Stopped

    runner.register_hook(LossRecorder(), 'LOWEST')  # after the checkpoint hook
    try:
        runner.train()
    except _Stopped:
        pass
    return losses, torch.load(latest_checkpoint(work_dir), map_location='cpu')


def _toy_run(work_dir, max_iters, resume=False, without_hook=False):
    from mmengine.runner import Runner

    cfg = _toy_cfg(work_dir, max_iters, resume)
    if without_hook:
        cfg.default_hooks.pop('rng_state')
    runner = Runner.from_cfg(in_process_cfg(cfg))
    return _train_recording_losses(runner, work_dir)


def _assert_same_state(a, b):
    assert a['meta']['iter'] == b['meta']['iter']
    for key, value in a['state_dict'].items():
        torch.testing.assert_close(b['state_dict'][key], value, rtol=0, atol=0)
    sa, sb = a['optimizer']['state'], b['optimizer']['state']
    assert set(sa) == set(sb)
    for idx in sa:
        for name in sa[idx]:
            torch.testing.assert_close(sb[idx][name], sa[idx][name], rtol=0, atol=0)


def test_toy_stop_and_resume_is_exact(tmp_path):
    full_losses, full = _toy_run(tmp_path / 'full', 9)
    first, _ = _toy_run(tmp_path / 'cut', 3)
    second, resumed = _toy_run(tmp_path / 'cut', 9, resume=True)
    assert sorted(first) == [1, 2, 3] and sorted(second) == list(range(4, 10))
    assert {**first, **second} == full_losses  # bit-identical logged losses
    _assert_same_state(full, resumed)
    assert resumed['rng_state']['world_size'] == 1 and len(resumed['rng_state']['ranks']) == 1


def test_toy_resume_without_rng_state_differs(tmp_path):
    """The control: the same stop/resume without the hook does not continue the random stream."""
    full_losses, _ = _toy_run(tmp_path / 'full', 6, without_hook=True)
    _toy_run(tmp_path / 'cut', 3, without_hook=True)
    second, _ = _toy_run(tmp_path / 'cut', 6, resume=True, without_hook=True)
    assert second[4] != full_losses[4]


def _train(config, work_dir, world, max_iters, extra, resume=False, stop_after=None):
    """What ``tools/train.py CONFIG [--resume] --cfg-options ...`` does, in this process."""
    from mmengine.config import Config

    from mmssl.utils.cli import build_runner

    cfg = Config.fromfile(config)
    cfg.merge_from_dict(
        {
            'train_dataloader.dataset.data_root': str(world['root']),
            'train_dataloader.dataset.ann_file': str(world['train_info']),
            'train_cfg.max_iters': max_iters,
            'train_cfg.val_begin': 1000,
            'default_hooks.checkpoint.interval': 1,
            **extra,
        }
    )
    cfg.launcher, cfg.work_dir, cfg.resume = 'none', str(work_dir), resume
    loaders = ('train_dataloader', 'val_dataloader') if cfg.get('val_cfg') else ('train_dataloader',)
    runner = build_runner(in_process_cfg(cfg), loaders)
    return _train_recording_losses(runner, work_dir, stop_after)


@pytest.mark.parametrize(
    'config,extra',
    [
        ('configs/nsmae/nsmae_bevfusion_tiny.py', {}),
        (
            'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py',
            {
                'val_dataloader.dataset.data_root': '{root}',
                'val_dataloader.dataset.ann_file': '{val}',
                'val_evaluator.data_root': '{root}',
                'val_evaluator.ann_file': '{val}',
            },
        ),
    ],
    ids=['nsmae', 'centerpoint'],
)
@pytest.mark.slow
def test_stop_and_resume_is_exact_end_to_end(tmp_path, synthetic_world, config, extra):
    """3 iterations uninterrupted == stop after 1 (as killed), ``resume`` to 3: weights, optimizer, losses."""
    extra = {
        k: v.format(root=synthetic_world['root'], val=synthetic_world['val_info']) for k, v in extra.items()
    }
    full_losses, full = _train(config, tmp_path / 'full', synthetic_world, 3, extra)
    first, _ = _train(config, tmp_path / 'cut', synthetic_world, 3, extra, stop_after=1)
    second, resumed = _train(config, tmp_path / 'cut', synthetic_world, 3, extra, resume=True)
    assert sorted(full_losses) == [1, 2, 3] and sorted(second) == [2, 3]
    assert {**first, **second} == full_losses  # bit-identical logged losses
    _assert_same_state(full, resumed)
