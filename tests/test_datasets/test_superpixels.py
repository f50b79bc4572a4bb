"""Superpixel sources, their uint16 PNG cache and LoadSuperpixels (real nuScenes keyframe)."""

import copy

import cv2
import numpy as np
import pytest
import torch

from mmssl.datasets.superpixels import (
    SLICSuperpixels,
    SuperpixelCache,
    build_superpixel_cache,
    build_superpixel_source,
    read_map,
    relabel_contiguous,
    resize_nearest,
    write_map,
)
from mmssl.datasets.superpixels.storage import encode_map, map_complete
from mmssl.registry import DATASETS, SUPERPIXELS, TRANSFORMS

NUS_PKL = 'n015-2018-07-24-11-22-45+0800.pkl'
NUS_CAMS = ['CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK', 'CAM_BACK_LEFT', 'CAM_BACK_RIGHT']

FAST = dict(type='SLICSuperpixels', downscale=4)  # SLIC on 400 x 225, maps at 1600 x 900


@pytest.fixture(scope='module')
def small_rgb(nuscenes_demo_dir):
    """CAM_FRONT of the keyframe, RGB, downscaled to 400 x 225."""
    path = next(nuscenes_demo_dir.glob('*__CAM_FRONT__*.jpg'))
    bgr = cv2.imread(str(path))
    return np.ascontiguousarray(cv2.resize(bgr, (400, 225), interpolation=cv2.INTER_AREA)[..., ::-1])


@pytest.fixture(scope='module')
def keyframe_cache(nuscenes_demo_dir, tmp_path_factory):
    """Superpixels of the 6 keyframe images (``FAST`` source) under a temporary cache root."""
    root = tmp_path_factory.mktemp('superpixels')
    stats = build_superpixel_cache(
        nuscenes_demo_dir / NUS_PKL, nuscenes_demo_dir, root, FAST, img_prefix='', log=None
    )
    assert stats['computed'] == 6
    return root


def test_slic_partitions_a_real_image_with_contiguous_ids(small_rgb):
    from skimage.segmentation import slic

    ids = SLICSuperpixels()(small_rgb)
    assert ids.shape == (225, 400) and ids.dtype == np.int32
    k = int(ids.max()) + 1
    assert ids.min() == 0 and np.array_equal(np.unique(ids), np.arange(k))  # every id 0..K-1 used
    assert 75 <= k <= 225  # n_segments=150: SLIC gives roughly that many
    # the partition is SLidR's call itself, only renumbered: one id of ours <-> one SLIC label
    raw = slic(small_rgb, n_segments=150, compactness=6, sigma=3.0, start_label=0)
    pairs = np.unique(np.stack([ids.ravel(), raw.ravel()]), axis=1)
    assert pairs.shape[1] == k == len(np.unique(raw))
    assert np.array_equal(SLICSuperpixels()(small_rgb.copy()), ids)  # deterministic


def test_downscaled_slic_gives_full_resolution_contiguous_ids(small_rgb):
    ids = SLICSuperpixels(downscale=4)(small_rgb)
    assert ids.shape == (225, 400)
    assert np.array_equal(np.unique(ids), np.arange(ids.max() + 1))
    assert 20 <= ids.max() + 1 <= 225


def test_source_rejects_non_rgb_input():
    with pytest.raises(ValueError, match='uint8 RGB'):
        SLICSuperpixels()(np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match='uint8 RGB'):
        SLICSuperpixels()(np.zeros((8, 8, 3), np.float32))


def test_relabel_and_nearest_resize_known_answers():
    assert relabel_contiguous(np.array([[5, 5, 9], [2, 9, 2]])).tolist() == [[1, 1, 2], [0, 2, 0]]
    with pytest.raises(ValueError, match='>= 0'):
        relabel_contiguous(np.array([[0, -1]]))
    ids = np.arange(24).reshape(4, 6)
    assert np.array_equal(resize_nearest(ids, (2, 3)), ids[1::2, 1::2])  # centres of the 2x2 blocks
    assert np.array_equal(resize_nearest(ids, (8, 12)), ids.repeat(2, 0).repeat(2, 1))


def test_sources_come_from_the_registry():
    src = build_superpixel_source('slic')
    assert type(src) is SLICSuperpixels and SUPERPIXELS.get('SLICSuperpixels') is SLICSuperpixels
    assert src.config() == dict(
        type='SLICSuperpixels', n_segments=150, compactness=6.0, sigma=3.0, downscale=1
    )
    assert src.cache_name() == 'slic'
    other = build_superpixel_source(dict(type='slic', n_segments=300))
    assert (
        other.cache_name().startswith('slic_')
        and other.cache_name() != build_superpixel_source(FAST).cache_name()
    )
    with pytest.raises(KeyError, match='SLICSuperpixels'):
        build_superpixel_source('no_such_source')


def test_png_round_trip_is_exact_beyond_255_ids(tmp_path):
    ids = np.random.default_rng(0).permutation(np.arange(1000)).reshape(25, 40)
    ids[0, 0] = 65535  # the largest storable id
    path = tmp_path / 'tok' / 'CAM.png'
    write_map(path, ids)
    stored = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert stored.dtype == np.uint16 and stored.shape == (25, 40)
    back = read_map(path)
    assert back.dtype == np.int32 and np.array_equal(back, ids)
    assert len(np.unique(back)) == 1000 and map_complete(path)
    with pytest.raises(ValueError, match='65535'):
        encode_map(np.full((2, 2), 65536))
    with pytest.raises(ValueError, match=r'\[0, 65535\]'):
        encode_map(np.full((2, 2), -1))


def test_truncated_png_is_incomplete_and_unreadable(tmp_path):
    path = tmp_path / 'm.png'
    write_map(path, np.arange(600).reshape(20, 30))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert not map_complete(path)
    with pytest.raises(ValueError, match='m.png'):
        read_map(path)


def test_cache_reader_names_the_command_when_the_cache_is_missing(tmp_path):
    cache = SuperpixelCache(tmp_path, 'slic')
    with pytest.raises(FileNotFoundError, match=r'slic/meta.json does not exist.*tools/make_superpixels.py'):
        cache.load('tok', 'CAM_FRONT')


def test_load_superpixels_packs_maps_in_camera_order(nus_cfg, keyframe_cache):
    cams = ['CAM_BACK', 'CAM_FRONT', 'CAM_FRONT_LEFT', 'CAM_FRONT_RIGHT', 'CAM_BACK_LEFT', 'CAM_BACK_RIGHT']
    np.random.seed(0)
    pipeline = [
        dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
        dict(type='LoadSSLMultiViewImages', camera_names=cams),
        dict(type='LoadSuperpixels', cache_root=str(keyframe_cache), source=FAST),
        dict(
            type='ImageAug3D', final_dim=(128, 352), resize_lim=(0.2, 0.25), rot_lim=(-5, 5), rand_flip=True
        ),
        dict(type='SSLGlobalRotScaleTrans'),
        dict(type='PackSSLInputs'),
    ]
    packed = DATASETS.build(nus_cfg(pipeline, camera_names=cams, test_mode=True))[0]
    sp = packed['data_samples'].ssl_targets.superpixels
    token = packed['data_samples'].metainfo['token']
    assert sp.shape == (6, 900, 1600) and sp.dtype == torch.int32
    assert packed['inputs']['img'].shape == (6, 3, 128, 352)  # images augmented, maps not
    cache = SuperpixelCache(keyframe_cache, FAST)
    for i, cam in enumerate(cams):
        assert np.array_equal(sp[i].numpy(), cache.load(token, cam))
        assert sp[i].min() == 0 and len(torch.unique(sp[i])) == sp[i].max() + 1


def test_load_superpixels_resizes_to_a_pooling_grid(nus_results, keyframe_cache):
    cache = SuperpixelCache(keyframe_cache, FAST)
    results = TRANSFORMS.build(
        dict(type='LoadSuperpixels', cache_root=str(keyframe_cache), source=FAST, size=(225, 400))
    )(copy.deepcopy(nus_results))
    assert results['superpixels'].shape == (6, 225, 400)
    for i, cam in enumerate(NUS_CAMS):
        full = cache.load(nus_results['token'], cam)
        assert np.array_equal(results['superpixels'][i], full[2::4, 2::4])  # centres of the 4x4 blocks


def test_load_superpixels_errors(nus_results, keyframe_cache, tmp_path):
    load = TRANSFORMS.build(dict(type='LoadSuperpixels', cache_root=str(keyframe_cache), source=FAST))
    with pytest.raises(KeyError, match='LoadSSLMultiViewImages'):
        load({'token': 'x'})
    # a map of another size than the decoded image
    token = nus_results['token']
    wrong = tmp_path / 'cache'
    write_map(SuperpixelCache(wrong, FAST).path(token, 'CAM_FRONT'), np.zeros((450, 800), np.int64))
    (SuperpixelCache(wrong, FAST).folder / 'meta.json').write_text(
        (SuperpixelCache(keyframe_cache, FAST).folder / 'meta.json').read_text()
    )
    bad = TRANSFORMS.build(dict(type='LoadSuperpixels', cache_root=str(wrong), source=FAST))
    with pytest.raises(ValueError, match=r'camera CAM_FRONT.*450 x 800.*900 x 1600'):
        bad(copy.deepcopy(nus_results))
