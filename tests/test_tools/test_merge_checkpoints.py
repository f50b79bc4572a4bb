"""tools/merge_checkpoints.py: UniPAD's fusion recipe (camera + LiDAR pre-trainings merged)."""

import pytest
import torch
from mmengine.config import Config

from mmssl.models.utils.checkpoint_merge import merge_checkpoints
from mmssl.models.utils.pretrained_init import load_pretrained
from mmssl.registry import MODELS
from mmssl.testing.runs import run_tool
from mmssl.testing.synthetic_batch import build_from_config

CAMERA = ['img_backbone.', 'img_neck.', 'view_transform.']
LIDAR = ['pts_middle_encoder.']  # BEVFusion-tiny's voxel encoder (HardSimpleVFE) has no weights


def _save(path, **tensors):
    torch.save({'state_dict': tensors, 'meta': {}}, path)
    return str(path)


def test_merge_takes_each_module_from_its_source_and_reports(tmp_path):
    a = _save(tmp_path / 'a.pth', **{'img_backbone.w': torch.ones(2), 'render_head.w': torch.ones(3)})
    b = _save(
        tmp_path / 'b.pth', **{'pts_middle_encoder.w': torch.zeros(4), 'img_backbone.w': torch.zeros(2)}
    )
    state, report = merge_checkpoints([(a, ['img_backbone.']), (b, ['pts_middle_encoder.'])])
    assert list(state) == ['img_backbone.w', 'pts_middle_encoder.w']
    assert torch.equal(state['img_backbone.w'], torch.ones(2))  # from a, not b
    assert report.taken == {'img_backbone.': (a, 1), 'pts_middle_encoder.': (b, 1)}
    assert report.left_out == {a: 1, b: 1}
    assert 'left out of' in report.table()
    with pytest.raises(ValueError, match='claimed by'):
        merge_checkpoints([(a, ['img_backbone.']), (b, ['img_backbone.'])])
    with pytest.raises(ValueError, match='no key under'):
        merge_checkpoints([(a, ['pts_middle_encoder.'])])
    with pytest.raises(ValueError, match='overlapping'):
        merge_checkpoints([(a, ['img_backbone.']), (b, ['img_backbone.w'])])


def _unipad(seed, **model):
    cfg = Config.fromfile('configs/unipad/unipad_bevfusion_tiny.py')
    cfg.model.update(model)
    torch.manual_seed(seed)
    return MODELS.build(cfg.model)


def test_merged_camera_and_lidar_pretrainings_initialise_bevfusion(tmp_path):
    camera = _unipad(0, pts_voxel_encoder=None, pts_middle_encoder=None, lidar_masker=None)
    lidar = _unipad(1, img_backbone=None, img_neck=None, view_transform=None, img_masker=None, loss_rgb=None)
    cam_ckpt, lidar_ckpt = tmp_path / 'cam.pth', tmp_path / 'lidar.pth'
    torch.save({'state_dict': camera.state_dict()}, cam_ckpt)
    torch.save({'state_dict': lidar.state_dict()}, lidar_ckpt)
    out = tmp_path / 'merged.pth'
    proc = run_tool(
        [
            'tools/merge_checkpoints.py',
            '--source',
            str(cam_ckpt),
            *CAMERA,
            '--source',
            str(lidar_ckpt),
            *LIDAR,
            '--out',
            str(out),
        ],
        timeout=300,
    )
    assert 'img_backbone.' in proc.stdout and f'wrote {out}' in proc.stdout
    det, _ = build_from_config('projects/BEVFusion/configs/bevfusion_tiny_synthetic.py')
    report = load_pretrained(det, str(out), {p: p for p in CAMERA + LIDAR}, strict=True)
    assert report.count('loaded') > 0
    det_state = det.state_dict()
    for source, prefixes in ((camera.state_dict(), CAMERA), (lidar.state_dict(), LIDAR)):
        keys = [k for k in source if k.startswith(tuple(prefixes))]
        assert keys
        assert all(torch.equal(det_state[k], source[k]) for k in keys)
