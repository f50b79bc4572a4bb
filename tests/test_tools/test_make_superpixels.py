"""tools/make_superpixels.py on the real nuScenes keyframe: 6 maps, resume, rebuild of one map."""

import copy

import numpy as np
import pytest

from mmssl.datasets.superpixels import SuperpixelCache, read_map
from mmssl.registry import DATASETS, TRANSFORMS
from mmssl.testing.runs import import_tool

PKL = 'n015-2018-07-24-11-22-45+0800.pkl'
CAMS = ['CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK', 'CAM_BACK_LEFT', 'CAM_BACK_RIGHT']
SOURCE = dict(type='SLICSuperpixels', downscale=8)


def _run(demo, cache_root):
    tool = import_tool('tools/make_superpixels.py')
    return tool.main(
        [
            str(demo / PKL),
            str(demo),
            str(cache_root),
            '--img-prefix',
            '',
            '--source-options',
            'downscale=8',
            '--max-samples',
            '1',
            '--log-interval',
            '0',
        ]
    )


def _mtimes(folder):
    return {p.name: p.stat().st_mtime_ns for p in folder.glob('*.png')}


def _loaded_keyframe(demo):
    ds = DATASETS.build(
        dict(
            type='NuScenesSSLDataset',
            data_root=str(demo),
            ann_file=PKL,
            data_prefix=dict(img=''),
            pipeline=[dict(type='LoadSSLMultiViewImages', camera_names=CAMS)],
            modality=dict(use_lidar=False, use_camera=True),
            camera_names=CAMS,
            with_label=False,
            test_mode=True,
        )
    )
    return ds[0]


@pytest.fixture(scope='module')
def built(nuscenes_demo_dir, tmp_path_factory):
    """The tool's first run on the keyframe: ``(cache_root, stats)``."""
    root = tmp_path_factory.mktemp('superpixel_cache')
    stats = _run(nuscenes_demo_dir, root)
    return root, stats


def test_first_run_writes_six_maps_and_meta(built):
    root, stats = built
    cache = SuperpixelCache(root, SOURCE)
    token = next(p.name for p in cache.folder.iterdir() if p.is_dir())
    assert stats['computed'] == 6 and stats['skipped'] == 0 and stats['failed'] == []
    assert sorted(p.stem for p in (cache.folder / token).glob('*.png')) == sorted(CAMS)
    segments = [int(cache.load(token, cam).max()) + 1 for cam in CAMS]
    assert stats['mean_segments'] == pytest.approx(np.mean(segments))
    assert stats['images_per_s'] > 0 and stats['seconds'] > 0
    meta = cache.meta
    assert meta['source'] == dict(SOURCE, n_segments=150, compactness=6.0, sigma=3.0)
    assert meta['image_shapes'] == {cam: [900, 1600] for cam in CAMS}


def test_rerun_skips_and_a_deleted_map_is_rebuilt_alone(built, nuscenes_demo_dir, capsys):
    root, _ = built
    cache = SuperpixelCache(root, SOURCE)
    token_dir = next(p for p in cache.folder.iterdir() if p.is_dir())
    before = _mtimes(token_dir)
    again = _run(nuscenes_demo_dir, root)
    assert again['computed'] == 0 and again['skipped'] == 6 and _mtimes(token_dir) == before
    assert '0 computed, 6 skipped (complete)' in capsys.readouterr().out
    # a deleted map, a truncated one and a stale temporary file of an interrupted write
    deleted = token_dir / 'CAM_BACK.png'
    reference = read_map(deleted)
    deleted.unlink()
    truncated = token_dir / 'CAM_FRONT.png'
    truncated.write_bytes(truncated.read_bytes()[:100])
    stale = token_dir / '.CAM_FRONT.png.abc123.tmp'
    stale.write_bytes(b'partial')
    third = _run(nuscenes_demo_dir, root)
    assert third['computed'] == 2 and third['skipped'] == 4 and not stale.exists()
    after = _mtimes(token_dir)
    untouched = set(before) - {'CAM_BACK.png', 'CAM_FRONT.png'}
    assert all(after[n] == before[n] for n in untouched)
    assert np.array_equal(read_map(deleted), reference)  # rebuilt identically (deterministic)


def test_missing_map_read_by_load_superpixels_is_a_clear_error(built, nuscenes_demo_dir, tmp_path):
    root, _ = built
    results = _loaded_keyframe(nuscenes_demo_dir)
    load = TRANSFORMS.build(dict(type='LoadSuperpixels', cache_root=str(root), source=SOURCE))
    assert load(copy.deepcopy(results))['superpixels'].shape == (6, 900, 1600)
    # the same cache without CAM_FRONT_LEFT
    import shutil

    copy_root = tmp_path / 'copy'
    shutil.copytree(root, copy_root)
    missing = SuperpixelCache(copy_root, SOURCE).path(results['token'], 'CAM_FRONT_LEFT')
    missing.unlink()
    load = TRANSFORMS.build(dict(type='LoadSuperpixels', cache_root=str(copy_root), source=SOURCE))
    with pytest.raises(FileNotFoundError) as err:
        load(copy.deepcopy(results))
    msg = str(err.value)
    assert f'sample {results["token"]} camera CAM_FRONT_LEFT' in msg and str(missing) in msg
    assert f'python tools/make_superpixels.py {nuscenes_demo_dir.resolve() / PKL}' in msg
    assert '--source slic --source-options downscale=8' in msg
