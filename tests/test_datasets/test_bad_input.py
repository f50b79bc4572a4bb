"""Bad input: clear errors naming sample, file/key and expectation; 'skip' mode logs and counts."""

import copy
import logging
import pickle

import cv2
import numpy as np
import pytest
from mmengine.logging import MMLogger

from mmssl.datasets import BadSampleError
from mmssl.registry import DATASETS

CAMS = ['CAM_FRONT', 'CAM_BACK']
PIPE = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
    dict(type='LoadSSLMultiViewImages', camera_names=CAMS),
    dict(type='SSLPointsRangeFilter', point_cloud_range=[-50, -50, -5, 50, 50, 3]),
    dict(type='PackSSLInputs'),
]


def _write_world(tmp_path, demo_dir, bad_sample, bad_file=None, keep_instances=False):
    """Two samples (tokens 'good', 'bad') in tmp_path; ``bad_sample(info)`` edits the second,
    ``bad_file(tmp_path)`` may write broken files for it; ``keep_instances`` keeps the keyframe's
    annotations (for labelled datasets)."""
    src = pickle.load(open(demo_dir / 'n015-2018-07-24-11-22-45+0800.pkl', 'rb'))
    pts = np.fromfile(demo_dir / src['data_list'][0]['lidar_points']['lidar_path'], dtype=np.float32).reshape(
        -1, 5
    )[:3000]
    img = np.full((90, 160, 3), 127, np.uint8)
    data_list = []
    for token in ('good', 'bad'):
        info = copy.deepcopy(src['data_list'][0])
        info.pop('cam_instances')
        if not keep_instances:
            info.pop('instances')
        info['token'] = token
        info['lidar_points']['lidar_path'] = f'{token}.bin'
        pts.tofile(tmp_path / f'{token}.bin')
        info['images'] = {c: info['images'][c] for c in CAMS}
        for cam in CAMS:
            info['images'][cam]['img_path'] = f'{token}_{cam}.jpg'
            cv2.imwrite(str(tmp_path / f'{token}_{cam}.jpg'), img)
        data_list.append(info)
    bad_sample(data_list[1])
    if bad_file is not None:
        bad_file(tmp_path)
    with open(tmp_path / 'infos.pkl', 'wb') as f:
        pickle.dump(dict(metainfo=src['metainfo'], data_list=data_list), f)
    return tmp_path


def _cfg(root, mode):
    return dict(
        type='NuScenesSSLDataset',
        data_root=str(root),
        ann_file='infos.pkl',
        data_prefix=dict(pts='', sweeps='', img=''),
        pipeline=PIPE,
        camera_names=CAMS,
        modality=dict(use_lidar=True, use_camera=True),
        with_label=False,
        bad_sample=mode,
    )


def _nothing(_):
    pass


def _points(values):
    def write(root):
        np.asarray(values, np.float32).tofile(root / 'bad.bin')

    return write


READ_TIME_CASES = {
    'missing point file': (_nothing, lambda root: (root / 'bad.bin').unlink(), 'bad.bin', 'does not exist'),
    'bin size': (
        _nothing,
        _points(np.arange(12)),
        'bad.bin',
        'not a multiple of the point dimension load_dim=5',
    ),
    'nan coordinates': (_nothing, _points([[1, 2, np.nan, 0, 0], [1, 2, 3, 0, 0]]), 'bad.bin', 'NaN/inf'),
    'missing image': (
        _nothing,
        lambda root: (root / 'bad_CAM_BACK.jpg').unlink(),
        'bad_CAM_BACK.jpg',
        'does not exist',
    ),
    'bin bytes not a multiple of 4': (
        _nothing,
        lambda root: (root / 'bad.bin').write_bytes(b'0123456789'),
        'bad.bin',
        'holds 10 bytes, not a multiple of 4',
    ),
    'undecodable image': (
        _nothing,
        lambda root: (root / 'bad_CAM_BACK.jpg').write_bytes(b'not a jpeg at all'),
        'bad_CAM_BACK.jpg (camera CAM_BACK)',
        'could not be decoded as an image',
    ),
    'empty after range filter': (
        _nothing,
        _points([[80, 80, 0, 1, 0], [90, 0, 0, 1, 0]]),
        'range filtering',
        'none of the 2 points',
    ),
}


@pytest.mark.parametrize('case', list(READ_TIME_CASES))
def test_read_time_errors(tmp_path, nuscenes_demo_dir, case):
    edit, broken, source, reason = READ_TIME_CASES[case]
    root = _write_world(tmp_path, nuscenes_demo_dir, edit, broken)
    ds = DATASETS.build(_cfg(root, 'raise'))
    assert ds[0]['data_samples'].metainfo['token'] == 'good'
    with pytest.raises(BadSampleError) as err:
        ds.prepare_data(1)
    msg = str(err.value)
    assert 'token=bad' in msg and source in msg and reason in msg, msg

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        skip = DATASETS.build(_cfg(root, 'skip'))
        assert skip.prepare_data(1) is None
        np.random.seed(0)
        assert skip[1]['data_samples'].metainfo['token'] == 'good'  # another sample is drawn
    finally:
        logger.removeHandler(handler)
    assert len(skip.skipped) >= 2
    assert all(s['stage'] == 'pipeline' and 'token=bad' in s['sample'] for s in skip.skipped)
    assert reason in skip.skipped[0]['reason']
    assert any('skipping bad sample' in r.getMessage() and 'token=bad' in r.getMessage() for r in records)


def _del(path):
    def edit(info):
        node = info
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return edit


def _set(path, value):
    def edit(info):
        node = info
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


LOAD_TIME_CASES = {
    'missing lidar2cam': (_del(['images', 'CAM_BACK', 'lidar2cam']), 'images.CAM_BACK.lidar2cam', 'missing'),
    'wrong cam2img shape': (
        _set(['images', 'CAM_FRONT', 'cam2img'], [[1, 0], [0, 1]]),
        'images.CAM_FRONT.cam2img',
        'has shape (2, 2)',
    ),
    'wrong lidar2img shape': (
        _set(['images', 'CAM_FRONT', 'lidar2img'], np.eye(3)),
        'images.CAM_FRONT.lidar2img',
        'has shape (3, 3)',
    ),
    'missing camera': (_del(['images', 'CAM_BACK']), 'images.CAM_BACK', 'missing'),
    'missing lidar path': (_del(['lidar_points', 'lidar_path']), 'lidar_points.lidar_path', 'missing'),
    'nan calibration': (
        _set(['images', 'CAM_FRONT', 'lidar2cam'], np.full((4, 4), np.nan)),
        'images.CAM_FRONT.lidar2cam',
        'NaN',
    ),
}


@pytest.mark.parametrize('case', list(LOAD_TIME_CASES))
def test_load_time_errors(tmp_path, nuscenes_demo_dir, case):
    edit, key, reason = LOAD_TIME_CASES[case]
    root = _write_world(tmp_path, nuscenes_demo_dir, edit)
    with pytest.raises(BadSampleError) as err:
        DATASETS.build(_cfg(root, 'raise'))
    msg = str(err.value)
    assert 'token=bad' in msg and key in msg and reason in msg, msg
    skip = DATASETS.build(_cfg(root, 'skip'))
    assert len(skip) == 1 and skip.get_data_info(0)['token'] == 'good'
    assert len(skip.skipped) == 1 and skip.skipped[0]['stage'] == 'load'
    assert key in skip.skipped[0]['source']


@pytest.mark.parametrize(
    'content,match',
    [
        (dict(infos=[], metadata=dict(version='v1.0-mini')), 'old v1.0 info file'),
        ([dict(token='x')], 'holds a list'),
        (dict(metainfo=dict(info_version='2.0'), data_list=[]), "info_version='2.0'"),
    ],
)
def test_wrong_info_format(tmp_path, content, match):
    with open(tmp_path / 'infos.pkl', 'wb') as f:
        pickle.dump(content, f)
    with pytest.raises(ValueError, match=match) as err:
        DATASETS.build(_cfg(tmp_path, 'skip'))
    assert 'infos.pkl' in str(err.value) and 'v1.1' in str(err.value)


def test_bad_sweep_file(tmp_path, nuscenes_demo_dir):
    def add_sweep(info):
        info['lidar_sweeps'] = [
            dict(
                lidar_points=dict(lidar_path='sweep.bin', lidar2sensor=np.eye(4).tolist()),
                timestamp=info['timestamp'] - 0.05,
            )
        ]

    root = _write_world(
        tmp_path,
        nuscenes_demo_dir,
        add_sweep,
        lambda r: np.arange(7, dtype=np.float32).tofile(r / 'sweep.bin'),
    )
    cfg = _cfg(root, 'raise')
    cfg['pipeline'] = [
        PIPE[0],
        dict(type='LoadSSLPointsFromMultiSweeps', sweeps_num=1, load_dim=5, use_dim=[0, 1, 2, 3, 4]),
    ]
    ds = DATASETS.build(cfg)
    with pytest.raises(BadSampleError, match=r'token=bad.*sweep\.bin.*holds 7 float32 values'):
        ds.prepare_data(1)
    np.arange(10, dtype=np.float32).tofile(root / 'sweep.bin')  # 2 valid points
    pts = ds.prepare_data(1)['points'].tensor
    assert len(pts) == 3002 and np.allclose(pts[-2:, 4].numpy(), 0.05)


def test_undecodable_image_names_only_that_file(tmp_path, nuscenes_demo_dir):
    root = _write_world(
        tmp_path, nuscenes_demo_dir, _nothing, lambda r: (r / 'bad_CAM_BACK.jpg').write_bytes(b'\xff\xd8junk')
    )
    with pytest.raises(BadSampleError) as err:
        DATASETS.build(_cfg(root, 'raise')).prepare_data(1)
    assert err.value.source.startswith('image file ') and err.value.source.endswith(
        'bad_CAM_BACK.jpg (camera CAM_BACK)'
    )
    assert 'CAM_FRONT' not in str(err.value)


def _labelled_cfg(root, mode):
    cfg = _cfg(root, mode)
    cfg.update(with_label=True, pipeline=[], box_type_3d='LiDAR')
    return cfg


LABEL_CASES = {
    'label outside the class list': (
        _set(['instances', 0, 'bbox_label_3d'], 42),
        'instances[0].bbox_label_3d',
        'is 42; expected -1 (ignored) or a label id',
    ),
    'negative box size': (
        _set(['instances', 0, 'bbox_3d', 4], -1.5),
        'instances[0].bbox_3d',
        'expected three positive sizes',
    ),
    'nan box': (
        _set(['instances', 0, 'bbox_3d', 0], float('nan')),
        'instances[0].bbox_3d',
        '7 finite values',
    ),
}


@pytest.mark.parametrize('case', list(LABEL_CASES))
def test_bad_annotations(tmp_path, nuscenes_demo_dir, case):
    edit, key, reason = LABEL_CASES[case]
    root = _write_world(tmp_path, nuscenes_demo_dir, edit, keep_instances=True)
    with pytest.raises(BadSampleError) as err:  # not MMDet3D's bare `KeyError: 42`
        DATASETS.build(_labelled_cfg(root, 'raise'))
    msg = str(err.value)
    assert 'token=bad' in msg and key in msg and reason in msg, msg
    skip = DATASETS.build(_labelled_cfg(root, 'skip'))
    assert len(skip) == 1 and skip.get_data_info(0)['token'] == 'good'
    assert len(skip.get_data_info(0)['ann_info']['gt_labels_3d']) > 0


def test_skip_mode_with_nothing_valid_at_load_time(tmp_path, nuscenes_demo_dir):
    root = _write_world(tmp_path, nuscenes_demo_dir, _del(['lidar_points', 'lidar_path']))
    data = pickle.load(open(root / 'infos.pkl', 'rb'))
    del data['data_list'][0]['lidar_points']['lidar_path']
    pickle.dump(data, open(root / 'infos.pkl', 'wb'))
    with pytest.raises(RuntimeError, match=r"bad_sample='skip' left no valid sample: 2 distinct sample\(s\)"):
        DATASETS.build(_cfg(root, 'skip'))


def test_skip_mode_with_nothing_valid_in_the_pipeline(tmp_path, nuscenes_demo_dir):
    def remove_points(r):
        (r / 'bad.bin').unlink()
        (r / 'good.bin').unlink()

    root = _write_world(tmp_path, nuscenes_demo_dir, _nothing, remove_points)
    ds = DATASETS.build(_cfg(root, 'skip'))
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    np.random.seed(0)
    try:
        with pytest.raises(RuntimeError) as err:
            ds[0]
    finally:
        logger.removeHandler(handler)
    msg = str(err.value)
    assert 'found no valid sample: every one of the 2 samples failed in the pipeline' in msg
    assert 'good.bin' in msg and 'does not exist' in msg
    # It stops once both samples have failed, after a few draws, not after 1001 warnings.
    assert {r['sample'].split('token=')[1] for r in ds.skipped} == {'good', 'bad'}
    logged = sum('skipping bad sample' in r.getMessage() for r in records)
    assert logged == len(ds.skipped) < 10


def test_skip_summary_hook_collects_every_process(tmp_path, nuscenes_demo_dir, monkeypatch):
    import json
    import os
    from types import SimpleNamespace

    from mmssl.engine.hooks import BadSampleSummaryHook

    folder = tmp_path / 'skips'
    monkeypatch.setenv('MMSSL_BAD_SAMPLE_DIR', str(folder))
    root = _write_world(tmp_path, nuscenes_demo_dir, _nothing, lambda r: (r / 'bad.bin').unlink())
    ds = DATASETS.build(_cfg(root, 'skip'))
    assert ds.prepare_data(1) is None  # main process
    worker = dict(ds.skipped[0], sample='sample_idx=7 token=other')  # as a dataloader worker writes it
    (folder / '999999.jsonl').write_text(json.dumps(worker) + '\n')
    runner = SimpleNamespace(work_dir=str(tmp_path), _train_dataloader=SimpleNamespace(dataset=ds))
    hook = BadSampleSummaryHook()
    rows = hook.records(runner)
    assert (
        len(rows) == 2
        and 'token=bad' in rows[0]['sample']
        and rows[1]['sample'] == 'sample_idx=7 token=other'
    )
    hook.after_run(runner)
    saved = json.loads((tmp_path / 'bad_samples.json').read_text())
    assert len(saved) == 2 and all(
        r['stage'] == 'pipeline' and 'does not exist' in r['reason'] for r in saved
    )
    assert os.path.isfile(folder / f'{os.getpid()}.jsonl')
