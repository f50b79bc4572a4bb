"""MinkUNet LiDAR segmentation: real keyframe step and overfit, voxelisation, SegMetric, probe,
the other fine-tuning strategies, checkpoint handoff, configs. The dataset over the synthetic
world's lidarseg labels: ``test_minkunet_data.py``.
"""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from mmdet3d.structures import PointData
from mmengine.config import Config
from torch.nn.modules.batchnorm import _BatchNorm

from mmssl.testing.finetune import changed_keys, optimizer_step, snapshot
from mmssl.testing.synthetic_batch import build_from_config, check_loss_and_gradients, nuscenes_keyframe_batch

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'projects/MinkUNet/configs'
TINY = CONFIGS / 'minkunet_lidarseg_tiny_synthetic.py'
PROBE = CONFIGS / 'minkunet_lidarseg_probe_tiny_synthetic.py'
FULL = CONFIGS / 'minkunet_lidarseg_full_nus.py'
#: z edges (m) of the hand-made labels: 6 height bands, classes 0-5 of the 16.
BANDS = (-1.5, -1.0, 0.0, 1.0, 3.0)
KEYFRAME_POINTS = 34688


def keyframe_batch(demo_dir, max_points: int | None = None) -> tuple[dict, torch.Tensor]:
    """The real nuScenes keyframe's points (x, y, z, intensity: the configs' ``use_dim=4``) with
    height-band labels ``(P,)`` in ``gt_pts_seg.pts_semantic_mask``."""
    batch = nuscenes_keyframe_batch(demo_dir, with_gt=False, num_cams=1, max_points=max_points)
    batch['inputs'].pop('img')
    points = batch['inputs']['points'][0][:, :4].contiguous()
    labels = torch.bucketize(points[:, 2].contiguous(), torch.tensor(BANDS))
    batch['inputs']['points'] = [points]
    batch['data_samples'][0].gt_pts_seg = PointData(pts_semantic_mask=labels)
    return batch, labels


def segmetric(preds: list, gts: list, num_classes: int = 16) -> dict:
    """MMDet3D's SegMetric over per-sample point labels (ignore index ``num_classes``)."""
    from mmdet3d.evaluation import SegMetric

    metric = SegMetric()
    metric.dataset_meta = dict(label2cat={i: f'c{i}' for i in range(num_classes)}, ignore_index=num_classes)
    metric.process(
        {},
        [
            dict(
                pred_pts_seg=dict(pts_semantic_mask=torch.as_tensor(p)),
                eval_ann_info=dict(pts_semantic_mask=g),
            )
            for p, g in zip(preds, gts)
        ],
    )
    return metric.compute_metrics(metric.results)


def predict_labels(model, batch) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        (sample,) = model.test_step(batch)
    return sample.pred_pts_seg.pts_semantic_mask.numpy()


@pytest.mark.realdata
def test_keyframe_voxels_loss_gradients_and_point_predictions(nuscenes_demo_dir):
    torch.manual_seed(0)
    model, _ = build_from_config(TINY)
    assert type(model).__module__ == 'projects.MinkUNet.minkunet.segmentor'
    batch, labels = keyframe_batch(nuscenes_demo_dir)
    points = batch['inputs']['points'][0]
    assert len(points) == KEYFRAME_POINTS

    model.train()
    data = model.data_preprocessor(batch, True)
    voxels, coors = data['inputs']['voxels']['voxels'], data['inputs']['voxels']['coors']
    sample = data['data_samples'][0]
    # One voxel per distinct 0.2 m cell; every point's voxel is its own cell.
    raw = torch.round(points[:, :3] / 0.2).int()
    cells = raw - raw.min(0)[0]
    assert len(voxels) == len(np.unique(cells.numpy(), axis=0)) == 12596
    assert coors.shape == (12596, 4) and (coors[:, 0] == 0).all()
    assert torch.equal(coors[sample.point2voxel_map, 1:], cells)
    # a voxel's feature is one of its points and its label is that point's
    assert torch.equal(torch.round(voxels[sample.point2voxel_map][:, :3] / 0.2).int() - raw.min(0)[0], cells)
    assert sample.gt_pts_seg.voxel_semantic_mask.shape == (12596,)

    losses = check_loss_and_gradients(model, batch)
    # conv_seg starts at std 0.01 (MMDet3D's init): near-uniform logits, cross-entropy ~ ln(16)
    assert abs(float(losses['loss_sem_seg']) - math.log(16)) < 0.05
    for name in (
        'backbone.conv_input.0.0.weight',
        'backbone.encoder.3.1.conv1.weight',
        'backbone.decoder.3.1.0.conv2.weight',
    ):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and float(grad.norm()) > 0, name

    pred = predict_labels(model, batch)
    assert pred.shape == (KEYFRAME_POINTS,) and 0 <= pred.min() and pred.max() < 16


@pytest.mark.realdata
def test_overfitting_one_keyframe_lowers_the_loss_and_raises_miou(nuscenes_demo_dir):
    torch.manual_seed(0)
    model, _ = build_from_config(TINY)
    batch, labels = keyframe_batch(nuscenes_demo_dir, max_points=6000)  # 5,782 points
    before = segmetric([predict_labels(model, batch)], [labels.numpy()])['miou']
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    losses = []
    for _ in range(30):
        model.train()
        data = model.data_preprocessor(batch, True)
        loss = model(**data, mode='loss')['loss_sem_seg']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    after = segmetric([predict_labels(model, batch)], [labels.numpy()])
    # measured: loss 2.76 -> 0.18 (x15.6), mIoU 0.027 -> 0.86 over the 6 bands, accuracy 0.96
    assert losses[0] / losses[-1] > 8
    assert before < 0.1 and after['miou'] > 0.6 and after['acc'] > 0.85


def test_segmetric_gives_the_closed_form_ious():
    # 4 classes, ignore index 4; class 3 is in neither the labels nor the predictions
    gts = [np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 4, 4]), np.array([1, 1])]
    preds = [np.array([0, 0, 0, 1, 1, 1, 0, 2, 2, 2, 1]), np.array([1, 2])]
    # confusion (rows: label, columns: prediction), the ignored points left out:
    #   0: [3, 1, 0]   1: [1, 3, 1]   2: [0, 0, 2]
    # IoU = TP / (label count + prediction count - TP)
    iou = [3 / (4 + 4 - 3), 3 / (5 + 4 - 3), 2 / (2 + 3 - 2)]
    out = segmetric(preds, gts, num_classes=4)
    assert [out['c0'], out['c1'], out['c2']] == pytest.approx(iou)  # 0.6, 0.5, 2/3
    assert math.isnan(out['c3'])
    assert out['miou'] == pytest.approx(sum(iou) / 3)  # 0.5889: the absent class is left out
    assert out['acc'] == pytest.approx(8 / 11)
    assert out['acc_cls'] == pytest.approx((3 / 4 + 3 / 5 + 2 / 2) / 3)


@pytest.mark.realdata
def test_probe_trains_only_the_final_linear_and_keeps_bn_statistics(nuscenes_demo_dir):
    from mmssl.models.finetune import LinearProbe, trainable_summary

    torch.manual_seed(0)
    model, _ = build_from_config(PROBE)
    assert isinstance(model.finetune_strategy, LinearProbe)
    total = next(r for r in trainable_summary(model) if r['module'] == 'total')
    assert total['trainable'] == 48 * 16 + 16  # decode_head.conv_seg: Linear(48, 16)
    batch, _ = keyframe_batch(nuscenes_demo_dir, max_points=6000)
    before = snapshot(model)
    optimizer_step(model, batch)
    after = snapshot(model)
    assert changed_keys(before, after) == {'decode_head.conv_seg.weight', 'decode_head.conv_seg.bias'}
    stats = [k for k in before if k.endswith(('running_mean', 'running_var', 'num_batches_tracked'))]
    # 33 BatchNorm1d, all in the backbone: 2 input convs, 4 x (down conv, block x 2) + 3 shortcuts
    # in the encoder, 4 x (up conv, block x 2, shortcut) in the decoder
    assert len(stats) == 3 * 33
    assert all(torch.equal(before[k], after[k]) for k in stats)
    norms = [m for n, m in model.named_modules() if isinstance(m, _BatchNorm)]
    model.train()
    assert len(norms) == 33 and not any(m.training for m in norms)

    # the same step with every parameter training moves the statistics (what the probe prevents)
    torch.manual_seed(0)
    full, _ = build_from_config(TINY)
    start = snapshot(full)
    optimizer_step(full, batch)
    moved = changed_keys(start, snapshot(full))
    assert {k for k in stats if k.endswith('running_mean')} <= moved


def test_other_strategies_act_on_the_segmentor_modules():
    from mmssl.engine.hooks import ProgressiveUnfreezeHook
    from mmssl.models.finetune import LoRAFinetune
    from mmssl.registry import OPTIM_WRAPPER_CONSTRUCTORS

    torch.manual_seed(0)
    model, _ = build_from_config(TINY)
    params = dict(model.named_parameters())
    layers = [['decode_head'], ['backbone.decoder'], ['backbone.encoder'], ['backbone.conv_input']]
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='LayerDecayOptimWrapperConstructor',
            optim_wrapper_cfg=dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3)),
            paramwise_cfg=dict(layer_decay_rate=0.95, layers=layers),
        )
    )
    groups = constructor(model).optimizer.param_groups
    assert [g['depth'] for g in groups] == [0, 1, 2, 3]  # every parameter is in one of the 4 layers
    assert [g['lr'] for g in groups] == pytest.approx([1e-3 * 0.95**d for d in range(4)])
    assert sum(p.numel() for g in groups for p in g['params']) == sum(p.numel() for p in params.values())
    assert sum(p.numel() for p in groups[0]['params']) == 784

    hook = ProgressiveUnfreezeHook(groups=[dict(name=str(i), modules=m) for i, m in enumerate(layers)])
    assert [sum(p.numel() for p in g) for g in hook.group_params(model)] == [
        sum(p.numel() for p in g['params']) for g in groups
    ]
    # LoRA has nothing to wrap: the U-Net is spconv + BatchNorm1d only, and the head is `trainable`
    with pytest.raises(ValueError, match='no .* layer matches'):
        LoRAFinetune(rank=4, trainable=['decode_head']).apply(model)


def test_pretrained_backbone_hands_off_with_an_identity_key_map(tmp_path):
    torch.manual_seed(1)
    source, _ = build_from_config(TINY)
    torch.save({'state_dict': source.state_dict()}, tmp_path / 'pretrain.pth')
    torch.manual_seed(2)
    model, _ = build_from_config(TINY, init_from=dict(checkpoint=str(tmp_path / 'pretrain.pth')))
    src, dst = source.state_dict(), model.state_dict()
    backbone = [k for k in dst if k.startswith('backbone.')]
    assert len(backbone) > 100 and all(torch.equal(src[k], dst[k]) for k in backbone)
    assert not torch.equal(src['decode_head.conv_seg.weight'], dst['decode_head.conv_seg.weight'])
    assert sorted(model.init_report.modules['backbone.']['loaded']) == sorted(backbone)


def test_full_config_is_minkunet34_and_builds_twice_from_one_config():
    cfg = Config.fromfile(str(FULL))
    backbone = cfg.model.backbone
    assert backbone.type == 'mmdet3d.MinkUNetBackbone' and backbone.sparseconv_backend == 'spconv'
    assert backbone.encoder_blocks == [2, 3, 4, 6] and backbone.encoder_channels == [32, 64, 128, 256]
    assert cfg.model.data_preprocessor.voxel_layer.voxel_size == [0.1, 0.1, 0.1]
    assert (cfg.model.decode_head.num_classes, cfg.model.decode_head.ignore_index) == (16, 16)
    assert cfg.val_evaluator.type == 'mmdet3d.SegMetric'
    assert cfg.train_dataloader.dataset.type == 'NuScenesSegDataset'
    from mmssl.registry import MODELS

    # MMDet3D's backbone inserts base_channels into the lists it is given: from a plain dict (a
    # ConfigDict is copied by the registry) a second build would fail without mmssl's copy
    model_cfg = cfg.model.to_dict()
    first, second = MODELS.build(model_cfg), MODELS.build(model_cfg)
    shapes = [{k: v.shape for k, v in m.state_dict().items()} for m in (first, second)]
    assert shapes[0] == shapes[1]
    assert model_cfg['backbone']['encoder_channels'] == [32, 64, 128, 256]
    assert len(first.backbone.encoder[3]) == 1 + 6  # stride-2 conv + 6 basic blocks
    assert first.decode_head.conv_seg.weight.shape == (16, 96)
