"""Full fine-tuning and the linear probe on the project's tiny detectors."""

from pathlib import Path

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from mmssl.models.finetune import FullFinetune, LinearProbe, trainable_summary
from mmssl.testing.finetune import changed_keys, optimizer_step, small_detector_batch, snapshot
from mmssl.testing.synthetic_batch import build_from_config

REPO = Path(__file__).resolve().parents[3]
BEVFUSION = REPO / 'projects/BEVFusion/configs/bevfusion_tiny_synthetic.py'
BEVDET = REPO / 'projects/BEVDet/configs/bevdet_tiny_synthetic.py'
CENTERPOINT = REPO / 'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py'
SEGMENTATION = REPO / 'projects/BEVFusion/configs/bevfusion_seg_tiny_synthetic.py'
HEADS = ('bbox_head.', 'seg_head.', 'pts_bbox_head.')


def _is_head(key: str) -> bool:
    return key.startswith(HEADS)


@pytest.fixture(scope='module')
def probed_bevfusion():
    torch.manual_seed(0)
    model, cfg = build_from_config(BEVFUSION, finetune_strategy=dict(type='LinearProbe'))
    return model, cfg


def test_default_is_full_finetuning():
    torch.manual_seed(0)
    model, _ = build_from_config(CENTERPOINT)
    assert isinstance(model.finetune_strategy, FullFinetune)
    assert all(p.requires_grad for p in model.parameters())


def test_probe_step_changes_only_the_head_and_no_frozen_bn_statistics(probed_bevfusion):
    model, cfg = probed_bevfusion
    before = snapshot(model)
    optimizer_step(model, small_detector_batch(cfg))
    changed = changed_keys(before, snapshot(model))
    assert changed, 'the step changed nothing'
    assert {k for k in changed if not _is_head(k)} == set()
    # the head trained: its final heatmap conv and its BN statistics moved
    assert 'bbox_head.task_heads.0.heatmap.1.weight' in changed
    assert 'bbox_head.shared_conv.bn.running_mean' in changed
    frozen_stats = [k for k in before if k.endswith('running_mean') and not _is_head(k)]
    assert len(frozen_stats) > 20  # ResNet, FPN, view transform, sparse encoder, BEV encoder


def test_frozen_bn_stays_in_eval_mode_after_train(probed_bevfusion):
    model, _ = probed_bevfusion
    model.train()
    norms = {n: m for n, m in model.named_modules() if isinstance(m, _BatchNorm)}
    frozen = [n for n in norms if not _is_head(n + '.')]
    assert frozen and not any(norms[n].training for n in frozen)
    assert all(norms[n].training for n in norms if _is_head(n + '.'))
    model.eval()
    model.train(True)
    assert not any(norms[n].training for n in frozen)


def test_probe_summary_counts_the_head_only(probed_bevfusion):
    model, _ = probed_bevfusion
    rows = {r['module']: r for r in trainable_summary(model)}
    head = sum(p.numel() for n, p in model.named_parameters() if _is_head(n))
    assert rows['total']['trainable'] == head
    assert rows['bbox_head']['share'] == 1.0 and rows['img_backbone']['trainable'] == 0
    assert rows['total']['share'] == pytest.approx(head / sum(p.numel() for p in model.parameters()))


@pytest.mark.parametrize(
    'config,heads',
    [(CENTERPOINT, ('pts_bbox_head',)), (BEVDET, ('bbox_head', 'seg_head')), (SEGMENTATION, ('seg_head',))],
)
def test_probe_on_the_other_detectors(config, heads):
    torch.manual_seed(0)
    model, cfg = build_from_config(config, finetune_strategy=dict(type='LinearProbe'))
    trainable = {n.split('.')[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == set(heads)
    before = snapshot(model)
    optimizer_step(model, small_detector_batch(cfg, lidar_only=config == CENTERPOINT))
    changed = changed_keys(before, snapshot(model))
    assert changed and all(k.startswith(tuple(h + '.' for h in heads)) for k in changed)


def test_probe_without_its_head_is_refused():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    with pytest.raises(KeyError, match='none of the trainable modules'):
        LinearProbe(trainable=['bbox_head']).apply(model)
