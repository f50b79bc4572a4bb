"""LargeAD: the temporal and point-to-segment terms against a Python loop, the cross-source term's
batch wiring, and the SLidR machinery it reuses."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmdet3d.structures import Det3DDataSample
from mmengine.config import Config
from mmengine.structures import BaseDataElement

from mmssl.registry import MODELS
from mmssl.testing.teachers import TINY_VIT, write_tiny_dinov2

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    """LargeAD on the tiny SLidR CenterPoint config (tiny random teacher), temperature 0.5."""
    weights = write_tiny_dinov2(tmp_path_factory.mktemp('largead_w') / 'tiny.pth')
    cfg = Config.fromfile(str(REPO / 'configs/slidr/slidr_centerpoint_tiny.py'))
    teacher = cfg.model.target_generator.features.teacher
    teacher.update(checkpoint=str(weights), input_size=[28, 42], arch_kwargs=TINY_VIT)
    cfg.model.target_generator.features.cache_root = None
    cfg.model.image_head.in_channels = TINY_VIT['embed_dim']
    nce = dict(type='SegmentInfoNCELoss', temperature=0.5, max_points=None)
    cfg.model.update(type='LargeAD', loss_tmp=nce, loss_p2s=nce)
    return MODELS.build(cfg.model)


def sample(seg, partner_points, partner_seg, source=0) -> Det3DDataSample:
    s = Det3DDataSample(metainfo=dict(sample_idx=0, source_index=source))
    s.ssl_targets = BaseDataElement(
        point_segments=torch.tensor(seg),
        temporal_points=partner_points,
        temporal_point_segments=torch.tensor(partner_seg),
    )
    return s


def reference_contrast(z, seg, z_other, seg_other, tau):
    """Mean over the segmented points of z of CE against the normalised means of the segments
    present in the other frame (segments keyed by (sample, id)); points whose segment is absent
    there are skipped."""
    means = {}
    for b, (zz, ss) in enumerate(zip(z_other, seg_other)):
        for key in {(b, int(i)) for i in ss.tolist() if i >= 0}:
            rows = [F.normalize(zz[j], dim=0) for j in range(len(ss)) if int(ss[j]) == key[1]]
            means[key] = F.normalize(torch.stack(rows).mean(0), dim=0)
    keys = sorted(means)
    terms = []
    for b, (zz, ss) in enumerate(zip(z, seg)):
        for j in range(len(ss)):
            key = (b, int(ss[j]))
            if key[1] < 0 or key not in means:
                continue
            logits = torch.stack([F.normalize(zz[j], dim=0) @ means[k] for k in keys]) / tau
            terms.append(-torch.log_softmax(logits, 0)[keys.index(key)])
    return torch.stack(terms).mean()


def test_temporal_and_p2s_terms_equal_a_python_loop(model, monkeypatch):
    gen = torch.Generator().manual_seed(0)
    emb = [torch.randn(6, 5, generator=gen), torch.randn(4, 5, generator=gen)]
    emb_n = [torch.randn(5, 5, generator=gen), torch.randn(3, 5, generator=gen)]
    seg = [[0, 0, 1, -1, 2, 1], [0, 1, 1, -1]]
    seg_n = [[0, 1, -1, 1, 3], [1, 1, 0]]  # segment 2 of sample 0 is absent in its partner
    samples = [sample(seg[0], torch.zeros(5, 4), seg_n[0]), sample(seg[1], torch.zeros(3, 4), seg_n[1])]
    monkeypatch.setattr(model, 'embed_points', lambda pts, ds: emb_n)
    out = model.temporal_terms({}, samples, emb)
    seg_t = [torch.tensor(s) for s in seg]
    seg_p = [torch.tensor(s) for s in seg_n]
    fwd = reference_contrast(emb, seg_t, emb_n, seg_p, 0.5)
    bwd = reference_contrast(emb_n, seg_p, emb, seg_t, 0.5)
    torch.testing.assert_close(out['loss_tmp'], (fwd + bwd) / 2)
    torch.testing.assert_close(out['loss_p2s'], reference_contrast(emb, seg_t, emb, seg_t, 0.5))
    # sample 0 has segments 0, 1, 2 and sample 1 has 0, 1: 5 segments over 2 samples
    assert out['segments_per_sample'].item() == pytest.approx(2.5)
    assert out['segmented_point_share'].item() == pytest.approx(8 / 10)
    # of the 8 segmented points of frame t, the one of segment (0, 2) has no partner segment
    assert out['temporal_match_share'].item() == pytest.approx(7 / 8)


def test_mismatched_segment_ids_name_the_sample(model):
    samples = [sample([0, 1], torch.zeros(3, 4), [0, 1, 1])]
    with pytest.raises(ValueError, match='point_segments has 2 ids for 3 points'):
        model.temporal_terms({}, samples, [torch.randn(3, 5)])


def test_switching_terms_off(model):
    """``loss_tmp=None`` needs no partner frame; the cross-source term sees the sources."""
    s = Det3DDataSample(metainfo=dict(sample_idx=0))
    s.ssl_targets = BaseDataElement(point_segments=torch.tensor([0, 0, 1]))
    model_tmp, model.loss_tmp = model.loss_tmp, None
    try:
        out = model.temporal_terms({}, [s], [torch.randn(3, 5)])
    finally:
        model.loss_tmp = model_tmp
    assert 'loss_tmp' not in out and torch.isfinite(out['loss_p2s'])
    source = model.source_index([Det3DDataSample(metainfo=dict(source_index=1)), s], 'cpu')
    assert source.tolist() == [1, 0]


SLIC_FAST = dict(type='SLICSuperpixels', downscale=8)
NUS_CAMS = ['CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK', 'CAM_BACK_LEFT', 'CAM_BACK_RIGHT']


def tiny_largead_cfg(
    weights: Path, superpixels: Path, sample_table: Path | None = None, student: str = 'minkunet'
) -> Config:
    """configs/largead/largead_<student>_tiny.py with the tiny live teacher and fast SLIC maps."""
    cfg = Config.fromfile(str(REPO / f'configs/largead/largead_{student}_tiny.py'))
    teacher = cfg.model.target_generator.features.teacher
    teacher.update(checkpoint=str(weights), input_size=[28, 42], arch_kwargs=TINY_VIT)
    cfg.model.target_generator.features.cache_root = None
    cfg.model.image_head.in_channels = TINY_VIT['embed_dim']
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'LoadSSLMultiViewImages':
            t['keep_ori_img'] = True
        if t['type'] == 'LoadSuperpixels':
            t['cache_root'], t['source'] = str(superpixels), SLIC_FAST  # replaces the k-means dict
        if t['type'] == 'LoadTemporalFrame' and sample_table is not None:
            t['sample_table'] = str(sample_table)
    cfg.train_dataloader.dataset.camera_names = NUS_CAMS
    return cfg


@pytest.mark.parametrize('data', ['real_keyframe', 'synthetic_pair'])
def test_one_step_of_the_tiny_config_gives_finite_losses(data, nuscenes_demo_dir, synthetic_world, tmp_path):
    """The whole pipeline (pair, segments, superpixels) and one step: every term finite, with gradients.

    The real keyframe has no scene neighbour in ``../shared/data`` (a one-sample table: it pairs
    with itself, offset 0); the synthetic world's first keyframe pairs with the next one.
    """
    import json

    import numpy as np

    from mmssl.datasets.superpixels import build_superpixel_cache
    from mmssl.testing.synthetic_batch import check_loss_and_gradients, dataset_batch

    if data == 'real_keyframe':
        world = dict(
            root=nuscenes_demo_dir, train_info=nuscenes_demo_dir / 'n015-2018-07-24-11-22-45+0800.pkl'
        )
        token = 'ca9a282c9e77460f8360f564131a8af5'
        table = tmp_path / 'sample.json'
        table.write_text(json.dumps([dict(token=token, scene_token='scene', prev='', next='')]))
        prefix = dict(img_prefix='')
    else:
        world, table, prefix = synthetic_world, None, {}
    cache = tmp_path / 'superpixels'
    stats = build_superpixel_cache(
        world['train_info'], world['root'], cache, source=SLIC_FAST, log=None, max_samples=1, **prefix
    )
    assert stats['computed'] == 6
    weights = write_tiny_dinov2(tmp_path / 'tiny.pth')
    cfg = tiny_largead_cfg(weights, cache, table)
    torch.manual_seed(0)
    np.random.seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    batch = dataset_batch(cfg, world, indices=(0,), flat=data == 'real_keyframe')
    offset = batch['data_samples'][0].metainfo['temporal_offset']
    assert offset == (0 if data == 'real_keyframe' else 1)
    losses = check_loss_and_gradients(model, batch)
    for key in ('loss_vfm', 'loss_tmp', 'loss_p2s', 'loss_cdp'):
        assert torch.isfinite(losses[key]), key
    assert float(losses['loss_tmp']) > 0 and float(losses['loss_p2s']) > 0
    assert float(losses['loss_cdp']) == 0  # one source in the batch
    assert losses['segments_per_sample'] >= 5 and 0.05 < losses['segmented_point_share'] < 0.95
    assert 0.5 < losses['temporal_match_share'] <= 1.0
    if offset == 0:  # a frame paired with itself: every segmented point finds its segment
        assert float(losses['temporal_match_share']) == 1.0
    grads = [p.grad for p in model.backbone.parameters() if p.requires_grad]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0


def test_the_centerpoint_student_steps_on_a_synthetic_pair(synthetic_world, tmp_path):
    """largead_centerpoint_tiny.py: sweeps, range filter and shuffle before the segments; the partner
    keyframe carries time lag 0; every term finite, encoder gradients."""
    from mmssl.datasets.superpixels import build_superpixel_cache
    from mmssl.testing.synthetic_batch import check_loss_and_gradients, dataset_batch

    cache = tmp_path / 'superpixels'
    build_superpixel_cache(
        synthetic_world['train_info'],
        synthetic_world['root'],
        cache,
        source=SLIC_FAST,
        log=None,
        max_samples=1,
    )
    cfg = tiny_largead_cfg(write_tiny_dinov2(tmp_path / 'tiny.pth'), cache, student='centerpoint')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    batch = dataset_batch(cfg, synthetic_world, indices=(0,))
    targets = batch['data_samples'][0].ssl_targets
    assert targets.temporal_points.shape[1] == 5 and bool((targets.temporal_points[:, 4] == 0).all())
    assert len(targets.point_segments) == len(batch['inputs']['points'][0])
    losses = check_loss_and_gradients(model, batch)
    for key in ('loss_vfm', 'loss_tmp', 'loss_p2s'):
        assert torch.isfinite(losses[key]) and float(losses[key]) > 0, key
    grads = [p.grad for p in model.pts_middle_encoder.parameters() if p.requires_grad]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0
