"""LiDAR semantic label tables and readers: nuScenes-lidarseg and SemanticKITTI."""

from types import SimpleNamespace

import numpy as np
import pytest

from mmssl.datasets import BadSampleError
from mmssl.datasets.lidarseg import (
    NUSCENES_LIDARSEG_16_CLASSES,
    NUSCENES_LIDARSEG_16_IGNORE_INDEX,
    NUSCENES_LIDARSEG_16_MAPPING,
    NUSCENES_LIDARSEG_16_METAINFO,
    NUSCENES_LIDARSEG_CATEGORIES,
    NUSCENES_LIDARSEG_INDEX,
    SEMANTICKITTI_CLASSES,
    SEMANTICKITTI_IGNORE_INDEX,
    SEMANTICKITTI_LEARNING_MAP,
    lidarseg_filename,
    map_nuscenes_lidarseg_to_16,
    map_semantickitti_to_19,
    read_nuscenes_lidarseg,
    read_semantickitti_label,
)

# The ``labels_map`` of MMDet3D-format nuScenes segmentation configs (``nus-seg.py``; not in the 1.4.0
# package), written out: ignore = 16 = len(classes), as ``PointSegClassMapping`` does.
MMDET3D_NUS_LABELS_MAP = {
    0: 16, 1: 16, 2: 6, 3: 6, 4: 6, 5: 16, 6: 6, 7: 16, 8: 16, 9: 0, 10: 16, 11: 16, 12: 7, 13: 16,
    14: 1, 15: 2, 16: 2, 17: 3, 18: 4, 19: 16, 20: 16, 21: 5, 22: 8, 23: 9, 24: 10, 25: 11, 26: 12,
    27: 13, 28: 14, 29: 16, 30: 15, 31: 16,
}  # fmt: skip


def test_official_category_table():
    from nuscenes.utils.color_map import get_colormap

    assert len(NUSCENES_LIDARSEG_CATEGORIES) == 32
    # The devkit's colormap lists the lidarseg categories in index order.
    assert tuple(get_colormap()) == NUSCENES_LIDARSEG_CATEGORIES
    assert [NUSCENES_LIDARSEG_INDEX[n] for n in ('noise', 'vehicle.car', 'flat.driveable_surface')] == [
        0,
        17,
        24,
    ]
    assert [NUSCENES_LIDARSEG_INDEX[n] for n in ('flat.sidewalk', 'flat.terrain', 'static.manmade')] == [
        26,
        27,
        28,
    ]
    assert NUSCENES_LIDARSEG_INDEX['vehicle.ego'] == 31
    assert lidarseg_filename('v1.0-mini', 'ab' * 16) == f'lidarseg/v1.0-mini/{"ab" * 16}_lidarseg.bin'


def test_16_class_mapping_follows_mmdet3d_and_the_devkit():
    from nuscenes.eval.lidarseg.utils import LidarsegClassMapper

    assert NUSCENES_LIDARSEG_16_IGNORE_INDEX == 16 and len(NUSCENES_LIDARSEG_16_CLASSES) == 16
    assert NUSCENES_LIDARSEG_16_MAPPING == MMDET3D_NUS_LABELS_MAP
    assert NUSCENES_LIDARSEG_16_METAINFO['max_label'] == 31
    # The devkit numbers the same classes 1..16 with 0 = ignore.
    fake_nusc = SimpleNamespace(lidarseg_name2idx_mapping=dict(NUSCENES_LIDARSEG_INDEX))
    devkit = LidarsegClassMapper(fake_nusc).fine_idx_2_coarse_idx_mapping
    assert {k: (v - 1) % 17 for k, v in devkit.items()} == NUSCENES_LIDARSEG_16_MAPPING


def test_16_class_mapping_on_a_hand_written_example():
    names = ['noise', 'human.pedestrian.child', 'vehicle.bus.bendy', 'vehicle.bus.rigid', 'vehicle.car']
    names += ['flat.driveable_surface', 'static.manmade', 'static.other', 'vehicle.ego', 'animal']
    labels = np.array([NUSCENES_LIDARSEG_INDEX[n] for n in names], dtype=np.uint8)
    mapped = map_nuscenes_lidarseg_to_16(labels)
    assert mapped.dtype == np.uint8
    assert mapped.tolist() == [16, 6, 2, 2, 3, 10, 14, 16, 16, 16]
    with pytest.raises(ValueError, match=r'0\.\.31.*\[32\]'):
        map_nuscenes_lidarseg_to_16(np.array([3, 32]))


def test_read_nuscenes_lidarseg(tmp_path):
    path = tmp_path / 'tok_lidarseg.bin'
    np.array([24, 17, 0, 31], dtype=np.uint8).tofile(path)
    assert read_nuscenes_lidarseg(path, num_points=4).tolist() == [24, 17, 0, 31]
    with pytest.raises(BadSampleError, match=r'token=abc.*tok_lidarseg\.bin: holds 4 labels.*expected 5'):
        read_nuscenes_lidarseg(path, num_points=5, sample='token=abc')
    np.array([24, 40], dtype=np.uint8).tofile(path)
    with pytest.raises(BadSampleError, match=r'tok_lidarseg\.bin: holds 1 labels outside.*\[40\]'):
        read_nuscenes_lidarseg(path)
    with pytest.raises(BadSampleError, match=r'missing_lidarseg\.bin: does not exist'):
        read_nuscenes_lidarseg(tmp_path / 'missing_lidarseg.bin', num_points=2)


def test_semantickitti_learning_map():
    assert len(SEMANTICKITTI_CLASSES) == 19 and SEMANTICKITTI_IGNORE_INDEX == 19
    assert sorted(set(SEMANTICKITTI_LEARNING_MAP.values())) == list(range(20))
    named = {SEMANTICKITTI_CLASSES[SEMANTICKITTI_LEARNING_MAP[raw]] for raw in (10, 252)}
    assert named == {'car'}
    assert SEMANTICKITTI_CLASSES[SEMANTICKITTI_LEARNING_MAP[60]] == 'road'  # lane-marking
    assert SEMANTICKITTI_CLASSES[SEMANTICKITTI_LEARNING_MAP[257]] == 'other-vehicle'  # moving bus
    assert SEMANTICKITTI_LEARNING_MAP[52] == SEMANTICKITTI_LEARNING_MAP[0] == 19


def test_read_semantickitti_label(tmp_path):
    semantic = np.array([10, 252, 40, 0, 72, 81], dtype=np.uint32)
    instance = np.array([3, 7, 0, 0, 0, 65535], dtype=np.uint32)
    path = tmp_path / '000000.label'
    (semantic | (instance << 16)).astype('<u4').tofile(path)
    sem, inst = read_semantickitti_label(path, num_points=6)
    assert sem.tolist() == semantic.tolist() and inst.tolist() == instance.tolist()
    assert map_semantickitti_to_19(sem, str(path)).tolist() == [0, 0, 8, 19, 16, 18]
    with pytest.raises(BadSampleError, match=r'000000\.label: holds 6 labels.*expected 7'):
        read_semantickitti_label(path, num_points=7)
    with pytest.raises(
        ValueError, match=r'000000\.label: 1 labels are not SemanticKITTI classes \(values \[12\]\)'
    ):
        map_semantickitti_to_19(np.array([10, 12]), str(path))
    with open(path, 'ab') as f:
        f.write(b'\x00\x01')
    with pytest.raises(BadSampleError, match=r'000000\.label: holds 26 bytes, not a multiple of 4'):
        read_semantickitti_label(path)
