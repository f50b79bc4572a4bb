"""Start-up checks: evaluator files, every built dataloader's data (val_cfg=dict() included), checkpoints."""

from __future__ import annotations

import pytest
from mmengine.config import Config

from mmssl.utils.config_check import (
    ConfigPathError,
    check_config_paths,
    find_config_path_problems,
    training_dataloaders,
)

CENTERPOINT = 'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py'


@pytest.fixture
def centerpoint(tmp_path):
    """CenterPoint tiny with every data path pointing at an existing (empty) world."""
    root = tmp_path / 'world'
    root.mkdir()
    for name in ('nuscenes_infos_train.pkl', 'nuscenes_infos_val.pkl'):
        (root / name).write_bytes(b'')
    cfg = Config.fromfile(CENTERPOINT)
    cfg.merge_from_dict(
        {
            'train_dataloader.dataset.data_root': str(root),
            'val_dataloader.dataset.data_root': str(root),
            'test_dataloader.dataset.data_root': str(root),
            'val_evaluator.data_root': str(root),
            'val_evaluator.ann_file': str(root / 'nuscenes_infos_val.pkl'),
        }
    )
    return cfg, root


def test_sound_config_has_no_problems(centerpoint):
    cfg, _ = centerpoint
    assert cfg.val_cfg == {}  # MMDet3D's base: MMEngine still builds and runs a ValLoop
    assert training_dataloaders(cfg) == ('train_dataloader', 'val_dataloader')
    assert find_config_path_problems(cfg, training_dataloaders(cfg)) == []


def test_wrong_val_data_root_and_evaluator_file_found_at_start_up(centerpoint, tmp_path):
    cfg, _ = centerpoint
    cfg.merge_from_dict(
        {
            'val_dataloader.dataset.data_root': str(tmp_path / 'no-val-root'),
            'val_evaluator.ann_file': str(tmp_path / 'missing_val.pkl'),
        }
    )
    problems = find_config_path_problems(cfg, training_dataloaders(cfg))
    assert problems == [
        f"val_dataloader.dataset.data_root: folder '{tmp_path / 'no-val-root'}' does not exist",
        f"val_evaluator.ann_file: file '{tmp_path / 'missing_val.pkl'}' does not exist "
        '(the metric would fail after training)',
    ]
    with pytest.raises(ConfigPathError, match='2 path'):
        check_config_paths(cfg, training_dataloaders(cfg))


def test_evaluator_lists_and_test_loader(centerpoint, tmp_path):
    cfg, root = centerpoint
    cfg.test_evaluator = [
        dict(type='A', ann_file=str(root / 'nuscenes_infos_val.pkl')),
        dict(type='B', ann_file='x.pkl'),
    ]
    assert find_config_path_problems(cfg, ('test_dataloader',)) == [
        "test_evaluator[1].ann_file: file 'x.pkl' does not exist (the metric would fail after training)"
    ]


def test_init_from_checkpoint_without_suffix_is_checked(centerpoint):
    cfg, _ = centerpoint
    cfg.model.init_from.checkpoint = 'work_dirs/nsmae/latest'
    problems = find_config_path_problems(cfg, ('train_dataloader',))
    assert problems == ["model.init_from.checkpoint: checkpoint 'work_dirs/nsmae/latest' does not exist"]
    cfg.model.init_from.checkpoint = None
    cfg.model.pts_backbone.pretrained = 'some_library_tag'  # a weight tag, not a file: left alone
    assert find_config_path_problems(cfg, ('train_dataloader',)) == []
