"""Image-to-LiDAR distillation (PPKT, ScaLR, SLidR): pairing on the real keyframe, the BEV point
read-out, one step of each tiny config (finite losses, encoder gradients), learning, and the
hand-off to CenterPoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmssl.geometry import project_points
from mmssl.registry import MODELS
from mmssl.testing.synthetic_batch import check_loss_and_gradients, dataset_batch
from mmssl.testing.teachers import TINY_VIT, write_tiny_dinov2

REPO = Path(__file__).resolve().parents[3]
TEACHER_IN = (28, 42)
CONFIGS = {
    'ppkt': REPO / 'configs/ppkt/ppkt_centerpoint_tiny.py',
    'scalr': REPO / 'configs/scalr/scalr_centerpoint_tiny.py',
    'slidr': REPO / 'configs/slidr/slidr_centerpoint_tiny.py',
}
LOSS_KEY = {'ppkt': 'loss_ppkt', 'scalr': 'loss_distill', 'slidr': 'loss_slidr'}
#: SLIC at 1/8 resolution (the maps are resized back to full size): seconds, not minutes
SLIC_FAST = dict(type='SLICSuperpixels', downscale=8)
NUS_PKL = 'n015-2018-07-24-11-22-45+0800.pkl'


@pytest.fixture(scope='module')
def superpixel_root(nuscenes_demo_dir, tmp_path_factory):
    """SLIC superpixels of the real keyframe's six images, built by the cache builder."""
    from mmssl.datasets.superpixels import build_superpixel_cache

    root = tmp_path_factory.mktemp('i2l_superpixels')
    stats = build_superpixel_cache(
        nuscenes_demo_dir / NUS_PKL, nuscenes_demo_dir, root, source=SLIC_FAST, img_prefix='', log=None
    )
    assert stats['computed'] == 6
    return root


@pytest.fixture(scope='module')
def tiny_teacher(tmp_path_factory):
    return write_tiny_dinov2(tmp_path_factory.mktemp('i2l_weights') / 'tiny_dinov2.pth')


def tiny_cfg(
    method: str, weights: Path, superpixels: Path | None = None, student: str = 'centerpoint', **model
) -> Config:
    """The method's tiny config (``student``: ``centerpoint`` or ``minkunet``) with the tiny live
    teacher (keep_ori_img on) and, for SLidR, the superpixel cache ``superpixels``."""
    cfg = Config.fromfile(str(CONFIGS[method]).replace('centerpoint', student))
    teacher = cfg.model.target_generator.features.teacher
    teacher.update(checkpoint=str(weights), input_size=list(TEACHER_IN), arch_kwargs=TINY_VIT)
    cfg.model.target_generator.features.cache_root = None
    if cfg.model.get('image_head') is not None:
        cfg.model.image_head.in_channels = TINY_VIT['embed_dim']
    if method == 'scalr':
        cfg.model.point_head.out_channels = TINY_VIT['embed_dim']
    cfg.model.update(model)
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'LoadSSLMultiViewImages':
            t['keep_ori_img'] = True
        if t['type'] == 'LoadSuperpixels':
            t.update(cache_root=str(superpixels), source=SLIC_FAST)
    return cfg


def keyframe_batch(cfg: Config, demo_dir: Path, seed: int = 0, image_aug: bool = False) -> dict:
    """The real keyframe through the config's pipeline (the demo folder is flat)."""
    cfg = cfg.copy()
    pipeline = list(cfg.train_dataloader.dataset.pipeline)
    if image_aug:
        idx = next(i for i, t in enumerate(pipeline) if t['type'] == 'LoadSSLMultiViewImages')
        pipeline.insert(
            idx + 1,
            dict(
                type='ImageAug3D',
                final_dim=[128, 352],
                resize_lim=[0.2, 0.25],
                bot_pct_lim=[0.0, 0.0],
                rot_lim=[-5.4, 5.4],
                rand_flip=True,
                is_train=True,
            ),
        )
        pipeline[-1] = dict(type='PackSSLInputs', keys=['points', 'img'])
    cfg.train_dataloader.dataset.pipeline = pipeline
    cfg.train_dataloader.dataset.camera_names = [
        'CAM_FRONT',
        'CAM_FRONT_RIGHT',
        'CAM_FRONT_LEFT',
        'CAM_BACK',
        'CAM_BACK_LEFT',
        'CAM_BACK_RIGHT',
    ]
    np.random.seed(seed)
    torch.manual_seed(seed)
    world = dict(root=demo_dir, train_info=demo_dir / NUS_PKL)
    return dataset_batch(cfg, world, indices=(0,), flat=True)


def test_pairs_land_on_their_pixels_in_the_augmented_image(nuscenes_demo_dir, tiny_teacher):
    """Pairs made with the un-augmented calibration are the points' pixels in the augmented
    images too (mapped through img_aug_matrix), within 0.5 px, under LiDAR and image augmentation."""
    cfg = tiny_cfg('ppkt', tiny_teacher)
    model = MODELS.build(cfg.model)
    batch = keyframe_batch(cfg, nuscenes_demo_dir, seed=1, image_aug=True)
    data = model.data_preprocessor(batch, True)
    points, sample = data['inputs']['points'], data['data_samples'][0]
    meta = sample.metainfo
    assert not np.allclose(meta['lidar_aug_matrix'], np.eye(4))  # the LiDAR was augmented
    ori_hw = tuple(int(v) for v in meta['ori_img_shape'][0])
    pairs = model.point_pixel_pairs(points, [sample], ori_hw, 6)
    assert 2000 < pairs.num_pairs < len(points[0])  # the cameras see a share of the keyframe points
    assert (pairs.uv[:, 0] >= 0).all() and (pairs.uv[:, 0] < ori_hw[1]).all()
    # expected: the augmented projection of each paired point, where it lands inside the image
    aug = torch.as_tensor(np.asarray(meta['img_aug_matrix']), dtype=torch.float64)
    lidar2img = torch.as_tensor(np.asarray(meta['lidar2img']), dtype=torch.float64)
    uv_aug, depth = project_points(points[0][:, :3].double(), lidar2img)
    got = uv_aug[pairs.camera, pairs.point]
    homog = torch.cat([pairs.uv.double(), torch.ones(pairs.num_pairs, 1, dtype=torch.float64)], 1)
    mapped = torch.einsum('pij,pj->pi', aug[pairs.camera][:, :2, [0, 1, 3]], homog)
    err = (got - mapped).norm(dim=1)
    assert err.max().item() < 0.5, err.max()
    # and in the teacher's frame the pixels scale with the image size
    teacher = model.point_pixel_pairs(points, [sample], TEACHER_IN, 6)
    assert torch.equal(teacher.point, pairs.point) and torch.equal(teacher.camera, pairs.camera)
    scale = torch.tensor([TEACHER_IN[1] / ori_hw[1], TEACHER_IN[0] / ori_hw[0]])
    torch.testing.assert_close(teacher.uv, pairs.uv * scale, atol=1e-3, rtol=1e-5)
    assert (depth[pairs.camera, pairs.point] > 1.0).all()  # min_depth 1 m


def test_point_features_read_the_bev_cell_of_each_point(tiny_teacher):
    model = MODELS.build(tiny_cfg('ppkt', tiny_teacher).model)
    x0, y0, _, x1, y1, _ = model.point_cloud_range
    ny, nx = 8, 4
    bev = torch.zeros(1, 2, ny, nx)
    bev[0, 0] = torch.arange(nx).float().view(1, nx).expand(ny, nx)
    bev[0, 1] = torch.arange(ny).float().view(ny, 1).expand(ny, nx)
    ix, iy = torch.tensor([0, 3, 2, 1]), torch.tensor([0, 7, 5, 2])
    pts = torch.stack(
        [x0 + (ix + 0.5) * (x1 - x0) / nx, y0 + (iy + 0.5) * (y1 - y0) / ny, torch.zeros(4)], dim=1
    )
    feats = model.point_features(bev, [pts])[0]
    torch.testing.assert_close(feats, torch.stack([ix, iy], 1).float())


@pytest.mark.parametrize('method', sorted(CONFIGS))
def test_one_step_on_the_real_keyframe(method, nuscenes_demo_dir, tiny_teacher, superpixel_root):
    cfg = tiny_cfg(method, tiny_teacher, superpixel_root)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    batch = keyframe_batch(cfg, nuscenes_demo_dir)
    losses = check_loss_and_gradients(model, batch)
    key = LOSS_KEY[method]
    assert key in losses and torch.isfinite(losses[key])
    assert losses['pairs_per_sample'] > 1000 and 0.05 < losses['paired_point_share'] < 1.0
    enc = [p.grad for p in model.pts_middle_encoder.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in enc)
    assert sum(g.abs().sum() for g in enc) > 0
    assert all(p.grad is None for p in model.target_generator.parameters())
    if method == 'ppkt':
        assert model.image_head.conv.weight.grad.abs().sum() > 0
        assert 0 < float(losses[key]) < 2 * np.log(512) + 1  # InfoNCE over 512 pairs starts near log(512)
    elif method == 'slidr':
        assert model.image_head.conv.weight.grad.abs().sum() > 0
        assert 100 < losses['superpixels_per_sample'] < 6 * 200  # ~110 SLIC segments per image, not all hit
        assert float(losses[key]) > 0
    else:
        assert 0 <= float(losses[key]) <= 2.0  # distance of unit vectors
        torch.testing.assert_close(
            losses[key] ** 2, 2 - 2 * losses['distill_cos'], atol=0.15, rtol=0
        )  # not exact (a mean of norms), close for a narrow spread


def test_scalr_one_camera_cuts_the_cloud_to_a_frustum(nuscenes_demo_dir, tiny_teacher):
    cfg = tiny_cfg('scalr', tiny_teacher, one_camera=True)
    model = MODELS.build(cfg.model)
    batch = keyframe_batch(cfg, nuscenes_demo_dir)
    data = model.data_preprocessor(batch, True)
    torch.manual_seed(3)
    cut = model.frustum_inputs(data['inputs'], data['data_samples'], 6)
    pts = cut['points'][0]
    assert 500 < len(pts) < 0.5 * len(data['inputs']['points'][0])
    pairs = model.point_pixel_pairs([pts], data['data_samples'], TEACHER_IN, 6)
    seen = torch.unique(pairs.point[pairs.camera == pairs.camera.mode().values])
    assert len(seen) == int(model.pairable(pts).sum())  # every kept point is in that one camera
    assert cut['voxels']['coors'].shape[0] < data['inputs']['voxels']['coors'].shape[0]


@pytest.mark.parametrize('method', sorted(CONFIGS))
def test_repeating_one_batch_drives_the_loss_down(method, nuscenes_demo_dir, tiny_teacher, superpixel_root):
    extra = dict(num_pairs=256) if method == 'ppkt' else {}
    cfg = tiny_cfg(method, tiny_teacher, superpixel_root, **extra)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    batch = keyframe_batch(cfg, nuscenes_demo_dir)
    data = model.data_preprocessor(batch, True)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    key = LOSS_KEY[method]
    history = []
    for _ in range(30):
        torch.manual_seed(1)  # PPKT: the same sampled pairs every step
        losses = model(**data, mode='loss')
        opt.zero_grad()
        losses[key].backward()
        opt.step()
        history.append(float(losses[key]))
    assert history[-1] < 0.6 * history[0], history


def test_encoders_hand_off_to_centerpoint_exactly(tmp_path, tiny_teacher):
    from mmengine.utils import import_modules_from_strings

    from mmssl.models.utils import load_pretrained

    for method in sorted(CONFIGS):
        cfg = Config.fromfile(str(CONFIGS[method]))
        det_cfg = Config.fromfile(str(REPO / cfg.downstream_config))
        for key in ('pts_voxel_encoder', 'pts_middle_encoder'):
            a, b = dict(cfg.model[key]), dict(det_cfg.model[key])
            a.pop('_delete_', None), b.pop('_delete_', None)
            assert a['type'].split('.')[-1] == b['type'].split('.')[-1]
            assert {k: v for k, v in a.items() if k != 'type'} == {
                k: v for k, v in b.items() if k != 'type'
            }, key
        model = MODELS.build(tiny_cfg(method, tiny_teacher, tmp_path).model)
        state = model.state_dict()
        assert not any(k.startswith('target_generator.') for k in state)
        path = tmp_path / f'{method}.pth'
        torch.save({'state_dict': state, 'meta': {}}, path)
        import_modules_from_strings(det_cfg.custom_imports['imports'])
        det = MODELS.build(det_cfg.model)
        report = load_pretrained(det, str(path), prefix_map=det_cfg.model.init_from.prefix_map, strict=True)
        det_state = det.state_dict()
        kept = [k for k in state if k.startswith(('pts_voxel_encoder.', 'pts_middle_encoder.'))]
        assert len(kept) > 20 and report.count('loaded') == len(kept)
        assert all(torch.equal(det_state[k], state[k]) for k in kept)
        # the rest are the method's heads, dropped at hand-off
        assert {k.split('.')[0] for k in state if k not in kept} <= {'point_head', 'image_head'}


def test_slidr_pooling_equals_a_python_loop(tiny_teacher, tmp_path):
    """Pixel means over every pixel of each superpixel (after per-pixel L2 normalisation) and point
    means over the paired points, as a loop computes them; empty superpixels are dropped."""
    model = MODELS.build(tiny_cfg('slidr', tiny_teacher, tmp_path, pool_size=(4, 6)).model)
    gen = torch.Generator().manual_seed(0)
    maps = torch.randn(1, 2, 3, 4, 6, generator=gen)  # (B, N, D, h, w) already at the pooling grid
    sp = torch.randint(0, 5, (1, 2, 4, 6), generator=gen)
    sp[0, 1][sp[0, 1] == 2] = 3  # id 2 absent in camera 1
    mean, count = model.pixel_segments(maps, sp, 5)
    for cam in range(2):
        for sid in range(5):
            cells = [(v, u) for v in range(4) for u in range(6) if sp[0, cam, v, u] == sid]
            key = cam * 5 + sid
            assert count[key].item() == len(cells)
            if cells:
                ref = torch.stack(
                    [torch.nn.functional.normalize(maps[0, cam, :, v, u], dim=0) for v, u in cells]
                )
                torch.testing.assert_close(mean[key], ref.mean(0))
    assert count[1 * 5 + 2] == 0


@pytest.mark.parametrize('method', sorted(CONFIGS))
def test_full_configs_take_the_full_centerpoint_encoders(method):
    cfg = Config.fromfile(str(CONFIGS[method]).replace('_tiny', ''))
    assert cfg.downstream_config == 'projects/CenterPoint/configs/centerpoint_full_nus.py'
    det = Config.fromfile(str(REPO / cfg.downstream_config)).model
    for key in ('pts_voxel_encoder', 'pts_middle_encoder'):
        a, b = dict(cfg.model[key]), dict(det[key])
        assert a.pop('type').split('.')[-1] == b.pop('type').split('.')[-1]
        assert a == b, key
    assert cfg.model.data_preprocessor.voxel_layer == det.data_preprocessor.voxel_layer
    assert cfg.model.type == {'ppkt': 'PPKT', 'slidr': 'SLidR', 'scalr': 'ScaLR'}[method]
    assert cfg.model.keyframe_time_dim == 4 and cfg.model.min_depth == 1.0
    # the paper's heads: 64-d contrast (PPKT, SLidR), the teacher's width (ScaLR's ViT-L/14: 1024)
    assert cfg.model.point_head.in_channels == 256
    assert cfg.model.point_head.out_channels == (1024 if method == 'scalr' else 64)


@pytest.mark.parametrize('method', sorted(CONFIGS))
def test_point_wise_student_steps_and_hands_off_to_minkunet(
    method, nuscenes_demo_dir, tiny_teacher, superpixel_root, tmp_path
):
    """The MinkUNet student: one point feature per point (its voxel's), finite loss and backbone
    gradients on the real keyframe, and an exact hand-off to the segmentation model."""
    from mmengine.utils import import_modules_from_strings

    from mmssl.models.utils import load_pretrained

    cfg = tiny_cfg(method, tiny_teacher, superpixel_root, student='minkunet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert model.with_point_backbone and not model.with_lidar
    batch = keyframe_batch(cfg, nuscenes_demo_dir)
    data = model.data_preprocessor(batch, True)
    feats = model.extract_feat(data['inputs'], data['data_samples'])
    assert feats[0].shape == (len(data['inputs']['points'][0]), 48)
    # points of one voxel share its feature; the voxel map covers every point
    p2v = data['data_samples'][0].point2voxel_map
    rep = torch.zeros(int(p2v.max()) + 1, dtype=torch.long).scatter_(0, p2v, torch.arange(len(p2v)))
    torch.testing.assert_close(feats[0], feats[0][rep[p2v]])  # each point = one point of its voxel
    losses = check_loss_and_gradients(model, batch)
    assert torch.isfinite(losses[LOSS_KEY[method]]) and losses['pairs_per_sample'] > 1000
    grads = [p.grad for p in model.backbone.parameters() if p.requires_grad]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0
    det_cfg = Config.fromfile(str(REPO / cfg.downstream_config))
    assert cfg.model.backbone == det_cfg.model.backbone
    assert cfg.model.data_preprocessor == det_cfg.model.data_preprocessor
    path = tmp_path / 'ckpt.pth'
    state = model.state_dict()
    torch.save({'state_dict': state, 'meta': {}}, path)
    import_modules_from_strings(det_cfg.custom_imports['imports'])
    seg = MODELS.build(det_cfg.model)
    report = load_pretrained(seg, str(path), prefix_map=det_cfg.model.init_from.prefix_map, strict=True)
    kept = [k for k in state if k.startswith('backbone.')]
    assert report.count('loaded') == len(kept) > 20
    seg_state = seg.state_dict()
    assert all(torch.equal(seg_state[k], state[k]) for k in kept)
