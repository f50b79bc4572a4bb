"""Fine-tuning strategies in real training runs of tiny BEVFusion on the synthetic world."""

import json
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from peft.tuners.lora import LoraLayer

from mmssl.benchmarks.strategies import BEVFUSION_STRATEGIES
from mmssl.models.finetune import merge_lora
from mmssl.testing.finetune import bev_features, small_detector_batch
from mmssl.testing.runs import in_process_cfg
from mmssl.testing.synthetic_batch import build_from_config

REPO = Path(__file__).resolve().parents[3]
BEVFUSION = REPO / 'projects/BEVFusion/configs/bevfusion_tiny_synthetic.py'


def _runner(work_dir, world, **overrides):
    from mmssl.utils.cli import build_runner

    cfg = Config.fromfile(str(BEVFUSION))
    cfg.merge_from_dict(
        {
            'train_dataloader.dataset.data_root': str(world['root']),
            'train_dataloader.dataset.ann_file': str(world['train_info']),
            'train_dataloader.batch_size': 1,
            'train_dataloader.num_workers': 0,
            'train_dataloader.persistent_workers': False,
            'train_cfg.max_iters': 2,
            'train_cfg.val_interval': 1000,
            'default_hooks.checkpoint.interval': 2,
            **overrides,
        }
    )
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.launcher, cfg.work_dir = 'none', str(work_dir)
    return build_runner(in_process_cfg(cfg), ('train_dataloader',))


@pytest.mark.slow
def test_lora_run_logs_its_share_and_its_checkpoint_merges(tmp_path, synthetic_world):
    strategy = BEVFUSION_STRATEGIES['lora'].model['finetune_strategy']
    runner = _runner(tmp_path, synthetic_world, **{'model.finetune_strategy': strategy})
    runner.train()
    summary = json.loads((tmp_path / 'trainable_params.json').read_text())
    rows = {r['module']: r for r in summary['modules']}
    assert rows['bbox_head']['share'] == 1.0 and rows['pts_middle_encoder']['trainable'] == 0
    assert 0 < rows['img_backbone']['share'] < 0.5 and rows['total']['share'] < 0.5
    # the checkpoint (base_layer + adapters) loads into the config's LoRA model, then merges
    torch.manual_seed(1)
    model, cfg = build_from_config(BEVFUSION, finetune_strategy=strategy)
    load_checkpoint(model, str(tmp_path / 'iter_2.pth'), map_location='cpu', strict=True)
    lora_b = [p for n, p in model.named_parameters() if '.lora_B.' in n]
    assert any(p.abs().sum() > 0 for p in lora_b), 'two steps moved the adapters'
    batch = small_detector_batch(cfg)
    unmerged = bev_features(model, batch)
    merge_lora(model)
    assert not any(isinstance(m, LoraLayer) for m in model.modules())
    for a, b in zip(bev_features(model, batch), unmerged):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_layer_decay_covers_every_parameter_of_the_detector(tmp_path, synthetic_world):
    spec = BEVFUSION_STRATEGIES['layer_decay'].optim_wrapper
    runner = _runner(
        tmp_path,
        synthetic_world,
        **{
            'optim_wrapper.constructor': spec['constructor'],
            'optim_wrapper.paramwise_cfg': spec['paramwise_cfg'],
        },
    )
    runner.train()
    groups = runner.optim_wrapper.optimizer.param_groups
    depths = spec['paramwise_cfg']['layers']
    assert [g['depth'] for g in groups] == list(range(len(depths)))  # no parameter left ungrouped
    base = groups[0]['initial_lr']
    for g in groups:
        assert g['initial_lr'] == pytest.approx(base * 0.95 ** g['depth'], rel=1e-12)


@pytest.mark.slow
def test_progressive_unfreezing_with_the_configs_warmup_and_cosine(tmp_path, synthetic_world):
    """The tiny config's LinearLR warm-up + CosineAnnealingLR (eta_min_ratio) scale every group
    alike: after the run each group's lr is its lr_mult times the head's."""
    groups = [dict(g, begin=int(round(g['begin'] * 3))) for g in BEVFUSION_STRATEGIES['progressive'].unfreeze]
    runner = _runner(
        tmp_path,
        synthetic_world,
        **{'train_cfg.max_iters': 3, 'custom_hooks': [dict(type='ProgressiveUnfreezeHook', groups=groups)]},
    )
    runner.train()
    lrs = {g['unfreeze_group']: g['lr'] for g in runner.optim_wrapper.optimizer.param_groups}
    assert set(lrs) == {'head', 'bev', 'encoders'}
    for group in groups:
        assert lrs[group['name']] == pytest.approx(lrs['head'] * group['lr_mult'], rel=1e-9)
    assert all(p.requires_grad for p in runner.model.parameters())  # all open after iteration 2
    log = next(Path(runner.log_dir).glob('*.log')).read_text()
    assert "group 'bev' (fusion_layer, pts_backbone, pts_neck) trains from iter 1" in log
    assert "group 'encoders'" in log and 'trains from iter 2' in log
