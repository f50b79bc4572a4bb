"""VFM superpixels (LargeAD): SAM masks painted by paint_masks, and k-means over DINOv2 patch features."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from mmssl.datasets.superpixels import (
    SAM_AVAILABLE,
    FeatureKMeansSuperpixels,
    SAMSuperpixels,
    SuperpixelCache,
    build_superpixel_source,
    paint_masks,
    relabel_contiguous,
)
from mmssl.datasets.superpixels import sam as sam_module
from mmssl.datasets.superpixels.feature_kmeans import parse_arch_kwargs
from mmssl.registry import SUPERPIXELS
from mmssl.testing.paths import REPO_ROOT
from mmssl.testing.runs import import_tool
from mmssl.testing.teachers import TINY_VIT, write_tiny_dinov2

needs_sam = pytest.mark.skipif(not SAM_AVAILABLE, reason='pip install segment-anything==1.0')

#: Real-path settings of the tiny random SAM: a 4 x 4 point grid, no quality filtering (random
#: weights predict low IoU / stability, the package defaults would drop every mask).
TINY_SAM = dict(model_type='tiny_test', points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)


def _image(h=64, w=96, seed=0):
    """A blocky RGB test image: 4 x 6 flat colour tiles plus noise, ``(h, w, 3)`` uint8."""
    rng = np.random.default_rng(seed)
    tiles = rng.integers(0, 256, (4, 6, 3)).astype(np.float64)
    img = cv2.resize(tiles, (w, h), interpolation=cv2.INTER_NEAREST) + rng.normal(0, 8, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def _assert_partition(ids, shape, max_ids=None):
    assert ids.shape == shape and ids.dtype == np.int32
    k = int(ids.max()) + 1
    assert ids.min() == 0 and np.array_equal(np.unique(ids), np.arange(k))  # one id per pixel, 0..K-1
    if max_ids is not None:
        assert k <= max_ids
    return k


# ---------------------------------------------------------------- paint_masks


def test_paint_masks_smaller_on_top_and_uncovered_keeps_its_own_id():
    big = np.zeros((6, 8), bool)
    big[:4] = True  # 32 px
    small = np.zeros((6, 8), bool)
    small[1:3, 2:5] = True  # 6 px, inside big
    mid = np.zeros((6, 8), bool)
    mid[3:5, :4] = True  # 8 px, overlaps big on row 3
    ids = paint_masks([small, big, mid], (6, 8))  # ids follow the input order: small 1, big 2, mid 3
    expected = np.array(
        [
            [2, 2, 2, 2, 2, 2, 2, 2],
            [2, 2, 1, 1, 1, 2, 2, 2],
            [2, 2, 1, 1, 1, 2, 2, 2],
            [3, 3, 3, 3, 2, 2, 2, 2],
            [3, 3, 3, 3, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0, 0],
        ]
    )
    assert ids.dtype == np.int32 and np.array_equal(ids, expected)
    # Seal's bug: uncovered pixels kept 0, the id of the largest mask; here they are a segment of their own
    assert set(ids[big].tolist()) == {1, 2, 3} and not (ids[~(big | small | mid)] != 0).any()
    assert np.array_equal(paint_masks([], (2, 3)), np.zeros((2, 3), np.int32))
    with pytest.raises(ValueError, match=r'mask 0 has shape \(2, 2\)'):
        paint_masks([np.ones((2, 2), bool)], (6, 8))


def test_paint_masks_has_no_wrap_around_beyond_256_masks():
    h, w, m = 20, 20, 300
    nested = [np.arange(h * w).reshape(h, w) < m - k for k in range(m)]  # mask k: the first 300 - k pixels
    order = np.random.default_rng(0).permutation(m)
    ids = paint_masks([nested[k] for k in order], (h, w))
    # pixel p lies in masks k <= 299 - p; the smallest of them is k = 299 - p, at input position pos[k]
    pos = np.argsort(order)
    flat = ids.ravel()
    assert np.array_equal(flat[:m], pos[m - 1 - np.arange(m)] + 1)
    assert (flat[m:] == 0).all()  # 100 uncovered pixels
    assert flat.max() > 256 and len(np.unique(flat)) == m + 1  # 300 masks + uncovered, none merged
    relabelled = relabel_contiguous(ids)
    assert relabelled.max() == m and len(np.unique(relabelled)) == m + 1


# ---------------------------------------------------------------- SAM


@pytest.fixture(scope='module')
def tiny_sam(tmp_path_factory):
    if not SAM_AVAILABLE:
        pytest.skip('pip install segment-anything==1.0')
    from mmssl.testing.sam import write_tiny_sam

    return write_tiny_sam(tmp_path_factory.mktemp('sam') / 'tiny_sam_seed0.pth', seed=0)


@needs_sam
def test_sam_real_checkpoint_masks_to_one_id_per_pixel(tiny_sam):
    rgb = _image()
    src = SAMSuperpixels(checkpoint=str(tiny_sam), **TINY_SAM)
    records = src.generate_masks(rgb)
    assert len(records) >= 2  # the painting sees several (overlapping) masks
    masks = [r['segmentation'] for r in records]
    assert all(m.shape == (64, 96) and m.dtype == bool for m in masks)
    ids = src(rgb)
    k = _assert_partition(ids, (64, 96))
    painted = paint_masks(masks, (64, 96))
    assert np.array_equal(ids, relabel_contiguous(painted))  # the source is exactly the painting
    covered = np.any(masks, axis=0)
    assert k == len(np.unique(painted[covered])) + int((~covered).any())
    # a second instance loading the same file, built through the registry: the same map
    again = build_superpixel_source(dict(type='sam', checkpoint=str(tiny_sam), **TINY_SAM))
    assert type(again) is SAMSuperpixels and np.array_equal(again(rgb), ids)
    assert src.generator is src.generator  # the model is built once per instance


@needs_sam
def test_sam_downscale_returns_full_resolution(tiny_sam):
    ids = SAMSuperpixels(checkpoint=str(tiny_sam), downscale=2, **TINY_SAM)(_image(64, 96))
    _assert_partition(ids, (64, 96))


@needs_sam
def test_sam_checkpoint_errors(tiny_sam, tmp_path):
    missing = tmp_path / 'sam_vit_h_4b8939.pth'
    src = SAMSuperpixels(checkpoint=str(missing))  # building the source loads nothing
    with pytest.raises(FileNotFoundError, match=r'sam_vit_h_4b8939.pth does not exist.*never downloads'):
        src(_image())
    state = torch.load(tiny_sam, weights_only=True)
    state.pop(next(iter(state)))
    torch.save(state, tmp_path / 'partial.pth')
    with pytest.raises(ValueError, match=r"does not fit model_type='tiny_test'"):
        SAMSuperpixels(checkpoint=str(tmp_path / 'partial.pth'), **TINY_SAM)(_image())


def test_sam_settings_registry_and_missing_package(monkeypatch):
    src = build_superpixel_source(dict(type='sam', checkpoint='w/sam_vit_h.pth'))
    assert SUPERPIXELS.get('SAMSuperpixels') is SAMSuperpixels and type(src) is SAMSuperpixels
    cfg = src.config()
    assert cfg['model_type'] == 'vit_h' and cfg['points_per_side'] == 32
    assert (cfg['pred_iou_thresh'], cfg['stability_score_thresh'], cfg['min_mask_region_area']) == (
        0.88,
        0.95,
        0,
    )
    assert json.loads(json.dumps(cfg)) == cfg and build_superpixel_source(cfg).config() == cfg
    assert src.cache_name().startswith('sam_')
    with pytest.raises(ValueError, match='model_type must be one of'):
        SAMSuperpixels(checkpoint='x.pth', model_type='vit_x')
    monkeypatch.setattr(sam_module, 'SAM_AVAILABLE', False)
    with pytest.raises(ImportError, match=r'pip install segment-anything==1\.0'):
        SAMSuperpixels(checkpoint='x.pth').generator  # noqa: B018


def test_importing_the_package_does_not_import_segment_anything():
    code = (
        'import sys, mmssl.datasets.superpixels as sp; '
        "assert 'segment_anything' not in sys.modules; assert 'sam' in sp.SAMSuperpixels.name"
    )
    subprocess.run([sys.executable, '-c', code], check=True, cwd=REPO_ROOT)


# ---------------------------------------------------------------- k-means over DINOv2 features


@pytest.fixture(scope='module')
def tiny_teacher(tmp_path_factory):
    return write_tiny_dinov2(tmp_path_factory.mktemp('teacher') / 'tiny_dinov2.pth', seed=0)


def _kmeans(checkpoint, **kw):
    cfg = dict(teacher_checkpoint=str(checkpoint), teacher_arch_kwargs=TINY_VIT, input_size=(56, 84))
    return FeatureKMeansSuperpixels(**{**cfg, **kw})


def test_kmeans_partition_respects_n_clusters_and_is_deterministic(tiny_teacher):
    rgb = _image()
    ids = _kmeans(tiny_teacher, n_clusters=6)(rgb)
    k = _assert_partition(ids, (64, 96), max_ids=6)
    assert k >= 2
    assert np.array_equal(_kmeans(tiny_teacher, n_clusters=6)(rgb), ids)  # a second instance, same seed
    others = [_kmeans(tiny_teacher, n_clusters=6, seed=s)(rgb) for s in (1, 2, 3)]
    assert any(not np.array_equal(o, ids) for o in others)  # the seed is used
    # the 4 x 6 patch grid of (56, 84), resized to the image: constant on each 16 x 16 block
    assert np.array_equal(ids, np.kron(ids[8::16, 8::16], np.ones((16, 16), np.int32)))


def test_kmeans_patch_features_are_unit_norm_on_the_teacher_grid(tiny_teacher):
    feats = _kmeans(tiny_teacher).patch_features(_image())
    assert feats.shape == (4, 6, TINY_VIT['embed_dim']) and feats.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(feats, axis=-1), 1.0, rtol=1e-5)


def test_kmeans_spatial_weight_makes_connected_clusters(tiny_teacher):
    ids = _kmeans(tiny_teacher, n_clusters=4, spatial_weight=50.0, input_size=(112, 168))(_image())
    _assert_partition(ids, (64, 96), max_ids=4)
    for k in range(ids.max() + 1):
        n, _ = cv2.connectedComponents((ids == k).astype(np.uint8), connectivity=4)
        assert n == 2  # background + one component


def test_kmeans_settings_and_cli_items(tiny_teacher):
    src = _kmeans(tiny_teacher, downscale=2)
    cfg = src.config()
    assert cfg['type'] == 'FeatureKMeansSuperpixels' and cfg['input_size'] == [56, 84]
    assert cfg['teacher_arch_kwargs'] == dict(depth=2, embed_dim=32, num_heads=2)
    assert json.loads(json.dumps(cfg)) == cfg and build_superpixel_source(cfg).config() == cfg
    assert src.cache_name().startswith('kmeans_')
    assert parse_arch_kwargs(['embed_dim:32', 'depth:2', 'mlp_ratio:2.5']) == dict(
        depth=2, embed_dim=32, mlp_ratio=2.5
    )
    defaults = FeatureKMeansSuperpixels.default_settings()
    assert defaults['n_clusters'] == 32 and defaults['input_size'] == [224, 392]
    _assert_partition(src(_image()), (64, 96), max_ids=32)
    with pytest.raises(ValueError, match='key:value'):
        parse_arch_kwargs(['embed_dim=32'])
    with pytest.raises(ValueError, match='multiples of 14'):
        _kmeans(tiny_teacher, input_size=(50, 84))
    with pytest.raises(FileNotFoundError, match='nope.pth does not exist'):
        FeatureKMeansSuperpixels(teacher_checkpoint='nope.pth')(_image())


# ---------------------------------------------------------------- tools/make_superpixels.py


def _tool_options(name, tiny_teacher, tiny_sam):
    if name == 'kmeans':
        return [
            f'teacher_checkpoint={tiny_teacher}',
            'teacher_arch_kwargs=embed_dim:32,depth:2,num_heads:2',
            'input_size=56,98',
            'n_clusters=8',
        ]
    return [f'checkpoint={tiny_sam}', 'model_type=tiny_test', 'points_per_side=4']


@pytest.mark.parametrize('name', ['kmeans', 'sam'])
def test_make_superpixels_tool_with_vfm_sources(name, synthetic_world, tiny_teacher, tmp_path, request):
    tiny_sam = request.getfixturevalue('tiny_sam') if name == 'sam' else None
    argv = [str(synthetic_world['train_info']), str(synthetic_world['root']), str(tmp_path)]
    argv += ['--source', name, '--source-options', *_tool_options(name, tiny_teacher, tiny_sam)]
    stats = import_tool('tools/make_superpixels.py').main(
        [*argv, '--max-samples', '1', '--log-interval', '0']
    )
    assert stats['computed'] == 6 and not stats['failed'] and stats['images_per_s'] > 0
    meta = json.loads(
        (
            SUPERPIXELS.get(name)  # the folder is named by the source's settings
            and (tmp_path / stats['folder'].split('/')[-1] / 'meta.json')
        ).read_text()
    )
    cache = SuperpixelCache(tmp_path, meta['source'])
    assert str(cache.folder) == stats['folder']
    token = next(p.name for p in cache.folder.iterdir() if p.is_dir())
    ids = cache.load(token, 'CAM_FRONT')
    _assert_partition(ids, tuple(meta['image_shapes']['CAM_FRONT']), max_ids=8 if name == 'kmeans' else None)
