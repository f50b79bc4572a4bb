"""OccFeat: the unsplatting head, the targets, the loss, the configs, cached = live, learning."""

from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmssl.geometry import occupancy_grid
from mmssl.models.heads import UnsplattingHead
from mmssl.models.losses import NegativeCosineLoss
from mmssl.models.target_generators import write_random_teacher
from mmssl.models.target_generators.cache_builder import build_feature_cache, teacher_config
from mmssl.registry import MODELS
from mmssl.testing.synthetic_batch import check_loss_and_gradients, dataset_batch
from mmssl.testing.teachers import TINY_VIT, write_tiny_dinov2

REPO = Path(__file__).resolve().parents[3]
TINY_CFG = REPO / 'configs/occfeat/occfeat_bevdet_tiny.py'
TEACHER_IN = (28, 42)


def test_unsplatting_head_splits_channels_into_height_groups():
    torch.manual_seed(0)
    head = UnsplattingHead(in_channels=6, z_bins=3, feat_channels=5, hidden_channels=4).eval()
    bev = torch.randn(2, 6, 7, 9)
    lifted = head.lift(bev)  # (2, N_B * Z_B, 7, 9)
    assert lifted.shape == (2, 12, 7, 9)
    # group z holds channels z * N_B ... z * N_B + N_B - 1 (Sec. 3.2)
    grouped = torch.stack([lifted[:, z * 4 : (z + 1) * 4] for z in range(3)], dim=2)
    torch.testing.assert_close(head.unsplat(bev), head.volume(grouped))
    out = head(bev)
    assert out.occupancy.shape == (2, 3, 7, 9) and out.features.shape == (2, 5, 3, 7, 9)
    vol = head.unsplat(bev)
    torch.testing.assert_close(out.occupancy, head.occ_out(vol)[:, 0])
    assert isinstance(head.lift[1], torch.nn.InstanceNorm2d) and isinstance(head.volume[1], torch.nn.Softplus)
    assert UnsplattingHead(6, 3, feat_channels=0)(bev).features is None


def test_negative_cosine_loss_known_answers():
    loss = NegativeCosineLoss(loss_weight=0.01)
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]], requires_grad=True)
    same = loss(a, a.detach() * 5)
    torch.testing.assert_close(same, torch.tensor(-0.01))
    opposite = loss(a, -a.detach())
    torch.testing.assert_close(opposite, torch.tensor(0.01))
    orth = torch.tensor([[0.0, 1.0], [1.0, 0.0], [-4.0, 3.0]])
    torch.testing.assert_close(loss(a, orth), torch.tensor(0.0))
    # rows 0 and 2 invalid: only row 1 (cos = 1) counts
    mixed = torch.tensor([[-1.0, 0.0], [0.0, 1.0], [4.0, -3.0]])
    torch.testing.assert_close(loss(a, mixed, torch.tensor([False, True, False])), torch.tensor(-0.01))
    none = loss(a, mixed, torch.zeros(3, dtype=torch.bool))
    none.backward()
    assert none.item() == 0 and a.grad is not None and (a.grad == 0).all()
    with pytest.raises(ValueError, match='same'):
        loss(a, a[:, :1])


def _tiny_occfeat(weights: Path, cache_root=None, **model):
    cfg = Config.fromfile(str(TINY_CFG))
    teacher = cfg.model.target_generator.features.teacher
    teacher.update(checkpoint=str(weights), input_size=list(TEACHER_IN), arch_kwargs=TINY_VIT)
    cfg.model.target_generator.features.cache_root = cache_root
    cfg.model.head.feat_channels = TINY_VIT['embed_dim']
    cfg.model.update(model)
    return cfg


@pytest.fixture(scope='module')
def tiny_teacher(tmp_path_factory):
    return write_tiny_dinov2(tmp_path_factory.mktemp('occfeat_weights') / 'tiny_dinov2.pth')


def _batch(cfg, world, seed=0, indices=(0, 1)):
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'LoadSSLMultiViewImages':
            t['keep_ori_img'] = True  # the live teacher reads the un-augmented images
    np.random.seed(seed)
    torch.manual_seed(seed)
    return dataset_batch(cfg, world, indices=indices)


def test_targets_voxelise_the_sweep_and_centres_fall_in_their_voxels(tiny_teacher):
    model = MODELS.build(_tiny_occfeat(tiny_teacher).model)
    grid = (8, 64, 32)  # the tiny BEV's 1.6 m cells x 8 levels of 1 m
    assert model.voxel_size(grid) == pytest.approx([1.6, 1.6, 1.0])
    gen = torch.Generator().manual_seed(0)
    pts = torch.rand(500, 5, generator=gen) * torch.tensor([60.0, 110.0, 10.0, 1, 1]) - torch.tensor(
        [30.0, 55.0, 6.0, 0, 0]
    )
    occ = model.occupancy_target([pts], grid)[0]
    # reference loop: floor((p - lower) / size) inside the range
    ref = torch.zeros(grid, dtype=torch.bool)
    for x, y, z in pts[:, :3].tolist():
        ix, iy, iz = int(np.floor((x + 25.6) / 1.6)), int(np.floor((y + 51.2) / 1.6)), int(np.floor(z + 5.0))
        if 0 <= ix < 32 and 0 <= iy < 64 and 0 <= iz < 8:
            ref[iz, iy, ix] = True
    assert torch.equal(occ, ref) and 0 < occ.sum() < len(pts)
    idx = occ.nonzero()
    centres = model.voxel_centres(idx, grid)
    back = occupancy_grid(centres, model.point_cloud_range, model.voxel_size(grid))
    assert torch.equal(back, occ)


def test_encoders_equal_the_tiny_bevdet_and_the_checkpoint_fine_tunes_it(tiny_teacher):
    occ_cfg = Config.fromfile(str(TINY_CFG))
    det_cfg = Config.fromfile(str(REPO / occ_cfg.downstream_config))
    for key in (
        'data_preprocessor',
        'img_backbone',
        'img_neck',
        'view_transform',
        'pts_backbone',
        'pts_neck',
    ):
        assert occ_cfg.model[key] == det_cfg.model[key], key
    model = MODELS.build(_tiny_occfeat(tiny_teacher).model)
    state = model.state_dict()
    assert not any(k.startswith('target_generator.') for k in state)
    import projects.BEVDet.bevdet  # noqa: F401  (registers BEVDet)

    det = MODELS.build(det_cfg.model)
    det_state = det.state_dict()
    kept = [k for k in state if not k.startswith(('head.', 'loss_'))]
    prefixes = tuple(det_cfg.model.init_from.prefix_map)
    assert all(k.startswith(prefixes) for k in kept)  # every pre-trained weight is handed over
    assert all(k in det_state and det_state[k].shape == state[k].shape for k in kept)
    assert {k.split('.')[0] for k in kept} == {
        'img_backbone',
        'img_neck',
        'view_transform',
        'pts_backbone',
        'pts_neck',
    }


def test_loss_gradients_and_diagnostics_on_the_synthetic_world(synthetic_world, tiny_teacher):
    cfg = _tiny_occfeat(tiny_teacher)
    model = MODELS.build(cfg.model)
    model.init_weights()
    batch = _batch(cfg, synthetic_world)
    losses = check_loss_and_gradients(model, batch)
    assert set(losses) >= {'loss_occ', 'loss_feat', 'occ_acc', 'occ_iou', 'occ_share', 'feat_cos'}
    assert 0.0 < losses['occ_share'] < 0.2  # the sweep fills a small share of the 8 x 64 x 32 grid
    assert losses['feat_valid_share'] > 0.5  # six cameras see most occupied voxel centres
    # lambda = 0.01 on a cosine in [-1, 1]
    assert abs(float(losses['loss_feat'])) <= 0.01 + 1e-6
    torch.testing.assert_close(losses['loss_feat'], -0.01 * losses['feat_cos'], atol=1e-6, rtol=1e-4)
    # BCE at init is near log 2 for logits near 0
    assert 0.3 < float(losses['loss_occ']) < 1.5
    assert all(not p.requires_grad for p in model.target_generator.parameters())
    assert all(p.grad is None for p in model.target_generator.parameters())
    model.train()
    assert not model.target_generator.training


def test_cached_teacher_gives_the_live_loss(tmp_path, synthetic_world, tiny_teacher):
    live_cfg = _tiny_occfeat(tiny_teacher)
    cached_cfg = _tiny_occfeat(tiny_teacher, cache_root=str(tmp_path / 'cache'))
    cached_cfg.train_dataloader.dataset.update(
        data_root=str(synthetic_world['root']), ann_file=str(synthetic_world['train_info'])
    )
    assert teacher_config(cached_cfg)[1] == str(tmp_path / 'cache')  # unwrapped through PointFeatureTargets
    stats = build_feature_cache(cached_cfg, progress=False)
    assert stats['computed'] == stats['samples'] > 0
    torch.manual_seed(0)
    live = MODELS.build(live_cfg.model)
    cached = MODELS.build(cached_cfg.model)
    cached.load_state_dict(live.state_dict())
    batch = _batch(live_cfg, synthetic_world, seed=3)
    out = []
    for model in (live, cached):
        model.eval()  # BN in eval: the same forward for both
        with torch.no_grad():
            data = model.data_preprocessor(batch, True)
            out.append(model(**data, mode='loss'))
    torch.testing.assert_close(out[0]['loss_occ'], out[1]['loss_occ'])
    # the cache holds fp16 maps: equal to fp16 precision
    torch.testing.assert_close(out[0]['feat_cos'], out[1]['feat_cos'], atol=2e-3, rtol=0)


def test_a_few_steps_fit_occupancy_and_features(synthetic_world, tiny_teacher):
    cfg = _tiny_occfeat(tiny_teacher)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    batch = _batch(cfg, synthetic_world, indices=(0,))
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    data = model.data_preprocessor(batch, True)
    history = []
    for _ in range(25):
        losses = model(**data, mode='loss')
        opt.zero_grad()
        (losses['loss_occ'] + losses['loss_feat']).backward()
        opt.step()
        history.append({k: float(v.detach()) for k, v in losses.items()})
    assert history[-1]['loss_occ'] < 0.5 * history[0]['loss_occ']
    assert history[-1]['feat_cos'] > history[0]['feat_cos'] + 0.1


def test_occupancy_only_variant_needs_no_teacher_and_a_feature_head_needs_one(tiny_teacher):
    cfg = Config.fromfile(str(REPO / 'configs/occfeat/occfeat_bevdet_tiny_occonly.py'))
    model = MODELS.build(cfg.model)
    assert model.target_generator is None and model.head.feat_out is None and not model.with_feat
    bad = _tiny_occfeat(tiny_teacher, target_generator=None)
    with pytest.raises(ValueError, match='target_generator'):
        MODELS.build(bad.model)
    lidar = _tiny_occfeat(
        tiny_teacher,
        pts_voxel_encoder=dict(type='mmdet3d.HardSimpleVFE', num_features=5),
        pts_middle_encoder=dict(type='mmdet3d.SparseEncoder', in_channels=5, sparse_shape=[41, 64, 64]),
    )
    with pytest.raises(ValueError, match='camera-only'):
        MODELS.build(lidar.model)


def test_random_teacher_file_is_reproducible_and_loads(tmp_path):
    a = write_random_teacher('vit_small_patch14_dinov2', tmp_path / 'a.pth', seed=0)
    assert write_random_teacher('vit_small_patch14_dinov2', tmp_path / 'b.pth', seed=0)['written']
    write_random_teacher('vit_small_patch14_dinov2', tmp_path / 'c.pth', seed=1)
    assert a['written'] and a['params'] == 22_056_192  # ViT-S/14
    sa, sb, sc = (torch.load(tmp_path / f'{n}.pth', weights_only=True) for n in 'abc')
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa['blocks.0.attn.qkv.weight'], sc['blocks.0.attn.qkv.weight'])
    assert sa['pos_embed'].shape == (1, 37 * 37 + 1, 384)
    assert not write_random_teacher('vit_small_patch14_dinov2', tmp_path / 'a.pth', seed=5)['written']
    teacher = MODELS.build(
        dict(type='DINOv2Teacher', checkpoint=str(tmp_path / 'a.pth'), input_size=(28, 42), dtype='fp32')
    )
    assert teacher.layout == 'timm' and teacher.out_channels == 384
    with pytest.raises(ValueError, match='arch'):
        write_random_teacher('resnet50', tmp_path / 'd.pth')
