"""Label-efficient splits: by scene, deterministic, nested, at least one scene, the tool."""

import json
import pickle

import pytest

from mmssl.testing.runs import import_tool
from mmssl.utils.label_split import make_label_split, scene_keys


def _infos(num_scenes=20, frames=5, with_token=False):
    data = []
    for s in range(num_scenes):
        log = f'n00{s % 3}-2018-07-24-11-22-45+0800'  # 3 logs, several scenes each
        for f in range(frames):
            info = dict(
                sample_idx=len(data),
                token=f'tok{len(data)}',
                timestamp=1000.0 * s + 0.5 * f,
                lidar_points=dict(lidar_path=f'{log}__LIDAR_TOP__{s}{f}.pcd.bin'),
                instances=[dict(bbox_label_3d=0)] * (s + 1) + [dict(bbox_label_3d=-1)],
            )
            if with_token:
                info['scene_token'] = f'scene{s}'
            data.append(info)
    return dict(metainfo=dict(dataset='nuscenes', info_version='1.1'), data_list=data)


def test_scene_keys_from_logs_and_time_gaps():
    infos = _infos()
    keys, source = scene_keys(infos['data_list'])
    assert source == 'log+time-gap'
    assert len(set(keys)) == 20  # 20 scenes recovered from 3 logs by the 1000 s gaps
    assert all(len({keys[i] for i in range(s * 5, s * 5 + 5)}) == 1 for s in range(20))
    keys_tok, source = scene_keys(_infos(with_token=True)['data_list'])
    assert source == 'scene_token' and keys_tok[7] == 'scene1'


def test_split_is_by_scene_deterministic_nested_and_non_empty():
    infos = _infos()
    subsets = {}
    for frac in (0.01, 0.05, 0.1, 0.5, 1.0):
        out, rep = make_label_split(infos, frac, seed=0)
        subsets[frac] = {d['sample_idx'] for d in out['data_list']}
        assert rep['frames_kept'] == len(out['data_list']) == rep['scenes_kept'] * 5
        assert rep['scenes_kept'] == max(1, round(frac * 20))
        assert rep['fraction_scenes'] == rep['scenes_kept'] / 20
        assert rep['boxes_kept'] == sum(
            1 for d in out['data_list'] for i in d['instances'] if i['bbox_label_3d'] >= 0
        )
        assert out['metainfo'] == infos['metainfo']
    assert subsets[0.01] <= subsets[0.05] <= subsets[0.1] <= subsets[0.5] <= subsets[1.0]
    assert len(subsets[0.01]) == 5 and len(subsets[1.0]) == 100  # one whole scene at 1%
    again, _ = make_label_split(infos, 0.1, seed=0)
    assert {d['sample_idx'] for d in again['data_list']} == subsets[0.1]
    other, _ = make_label_split(infos, 0.1, seed=1)
    assert {d['sample_idx'] for d in other['data_list']} != subsets[0.1]
    with pytest.raises(ValueError, match='fraction'):
        make_label_split(infos, 0.0)


def test_tool_on_real_nuscenes_info(nuscenes_demo_dir, tmp_path):
    tool = import_tool('tools/make_label_split.py')
    info = next(nuscenes_demo_dir.glob('*.pkl'))
    out = tmp_path / 'train_frac0.01.pkl'
    report = tool.main([str(info), '--fraction', '0.01', '--seed', '0', '--out', str(out)])
    with open(out, 'rb') as f:
        subset = pickle.load(f)
    assert len(subset['data_list']) == 1 and report['scenes_kept'] == 1
    assert report['scene_source'] == 'log+time-gap'
    # 69 annotations, one with label -1 (a class outside the 10): 68 boxes kept.
    assert report['boxes_kept'] == report['boxes_total'] == 68
    assert json.loads(out.with_suffix('.json').read_text())['frames_kept'] == 1


def test_synthetic_world_split_by_devkit_scene(synthetic_world, tmp_path):
    with open(synthetic_world['train_info'], 'rb') as f:
        infos = pickle.load(f)
    keys, _ = scene_keys(
        infos['data_list'], nusc_root=str(synthetic_world['root']), version=synthetic_world['version']
    )
    heuristic, _ = scene_keys(infos['data_list'])
    # The log/time-gap fallback groups frames exactly as the devkit's scene tokens do.
    groups = lambda ks: sorted(sorted(i for i, k in enumerate(ks) if k == u) for u in set(ks))  # noqa: E731
    assert groups(keys) == groups(heuristic)
    out, rep = make_label_split(
        infos, 0.5, nusc_root=str(synthetic_world['root']), version=synthetic_world['version']
    )
    assert rep['scene_source'] == 'devkit' and rep['scenes_kept'] >= 1
