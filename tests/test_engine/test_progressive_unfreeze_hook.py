"""ProgressiveUnfreezeHook: requires_grad and learning rates at the scheduled iterations, resume."""

import copy
import json
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmssl.registry import HOOKS

TOY = 'tests/data/configs/toy_regression.py'
LR = 1e-2
GROUPS = [
    dict(name='head', modules=['head'], begin=0, lr_mult=1.0),
    dict(name='block', modules=['block'], begin=2, lr_mult=0.1),
    dict(name='stem', modules=['stem'], begin=4, lr_mult=0.01),
]
MULT = {g['name']: g['lr_mult'] for g in GROUPS}
BEGIN = {g['name']: g['begin'] for g in GROUPS}


@HOOKS.register_module()
class _RecordFinetuneState(Hook):
    """Before every iteration (after the unfreeze hook): requires_grad and lr of each group."""

    priority = 'LOW'

    def __init__(self) -> None:
        self.rows: dict[int, dict] = {}

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        model = runner.model
        groups = runner.optim_wrapper.optimizer.param_groups
        self.rows[runner.iter] = dict(
            grad={n: all(p.requires_grad for p in getattr(model, n).parameters()) for n in MULT},
            lr={g['unfreeze_group']: g['lr'] for g in groups},
            n_groups=len(groups),
        )


def _cfg(work_dir, max_iters=6, schedule=None):
    cfg = Config.fromfile(TOY)
    cfg.work_dir = str(work_dir)
    # MMEngine names the run's logger after the experiment (config name + timestamp to the second);
    # two runners of one second would share a logger and write into the first one's log file
    cfg.experiment_name = f'progressive_unfreeze_{Path(work_dir).name}'
    cfg.model = dict(type='ToyLayeredRegressor', dim=8, hidden=16)
    cfg.optim_wrapper = dict(
        type='OptimWrapper',
        optimizer=dict(type='AdamW', lr=LR, weight_decay=0.01),
        constructor='TrainableOptimWrapperConstructor',
    )
    cfg.param_scheduler = schedule or [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0)]
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=3, by_epoch=False)
    cfg.custom_hooks = [
        dict(type='ProgressiveUnfreezeHook', groups=copy.deepcopy(GROUPS)),
        dict(type='_RecordFinetuneState'),
    ]
    cfg.visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    return cfg


def _recorder(runner):
    return next(h for h in runner.hooks if isinstance(h, _RecordFinetuneState))


def _train(cfg, resume_from=None):
    runner = Runner.from_cfg(cfg)
    if resume_from:
        runner._resume = True
        runner._load_from = str(resume_from)
    runner.train()
    return runner


def test_groups_unfreeze_at_their_iterations_with_their_lrs(tmp_path):
    runner = _train(_cfg(tmp_path))
    rows = _recorder(runner).rows
    assert sorted(rows) == list(range(6))
    for it, row in rows.items():
        assert row['n_groups'] == 3
        for name in MULT:
            assert row['grad'][name] == (it >= BEGIN[name]), (it, name)
            assert row['lr'][name] == pytest.approx(LR * MULT[name], rel=1e-12)
    log = next(Path(runner.log_dir).glob('*.log')).read_text()
    assert "group 'block' (block) trains from iter 2, lr 1.000e-03" in log
    assert "group 'stem' (stem) trains from iter 4, lr 1.000e-04" in log
    # TrainableParamsHook ran after the hook froze block and stem: only the head's 16 + 1 train
    summary = json.loads((tmp_path / 'trainable_params.json').read_text())
    total = {r['module']: r for r in summary['modules']}
    assert summary['iter'] == 0
    assert total['head']['trainable'] == 17 and total['block']['trainable'] == 0
    assert total['total']['trainable'] == 17


def test_frozen_groups_do_not_move_until_they_unfreeze(tmp_path):
    cfg = _cfg(tmp_path, max_iters=3)  # stem (begin 4) never trains, block trains at iter 2
    runner = Runner.from_cfg(cfg)
    start = {k: v.clone() for k, v in runner.model.state_dict().items()}  # no init_cfg: as built
    runner.train()
    trained = runner.model.state_dict()
    assert torch.equal(trained['stem.0.weight'], start['stem.0.weight'])
    assert not torch.equal(trained['block.0.weight'], start['block.0.weight'])
    assert not torch.equal(trained['head.weight'], start['head.weight'])


def test_schedule_scales_every_group(tmp_path):
    schedule = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4)]
    rows = _recorder(_train(_cfg(tmp_path, schedule=schedule))).rows
    for it in range(6):
        factor = 0.1 + 0.9 * min(it, 3) / 3  # MMEngine's LinearLR reaches 1 at iteration end - 1
        for name in MULT:
            assert rows[it]['lr'][name] == pytest.approx(LR * MULT[name] * factor, rel=1e-6), (it, name)


def test_resume_mid_schedule_restores_groups_and_lrs(tmp_path):
    schedule = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4)]
    full = _recorder(_train(_cfg(tmp_path / 'full', schedule=schedule))).rows
    # iter_3.pth: block unfrozen (begin 2), stem still frozen (begin 4)
    resumed_runner = _train(
        _cfg(tmp_path / 'resumed', schedule=schedule), resume_from=tmp_path / 'full' / 'iter_3.pth'
    )
    resumed = _recorder(resumed_runner).rows
    assert sorted(resumed) == [3, 4, 5]
    for it in (3, 4, 5):
        assert resumed[it]['grad'] == full[it]['grad']
        for name in MULT:
            assert resumed[it]['lr'][name] == pytest.approx(full[it]['lr'][name], rel=1e-12)
    hook = next(h for h in resumed_runner.hooks if type(h).__name__ == 'ProgressiveUnfreezeHook')
    assert hook.unfrozen == {'head', 'block', 'stem'}


def test_params_frozen_before_the_optimizer_is_built_are_refused(tmp_path):
    cfg = _cfg(tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.model.stem.requires_grad_(False)
    with pytest.raises(ValueError, match='not in the optimizer'):
        runner.train()


def test_test_runs_of_the_training_config_pass_through(tmp_path):
    """tools/test.py builds a runner of the run config without an optimizer: the hook does nothing."""
    cfg = _cfg(tmp_path)
    runner = Runner.from_cfg(cfg)
    hook = next(h for h in runner.hooks if type(h).__name__ == 'ProgressiveUnfreezeHook')
    hook.before_run(runner)  # optim_wrapper is still its config dict
    assert isinstance(runner.optim_wrapper, dict)
    runner.test()
