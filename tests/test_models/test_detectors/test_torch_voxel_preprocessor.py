"""TorchVoxelDataPreprocessor gives exactly MMDet3D's Det3DDataPreprocessor (mmcv voxel op)."""

import torch

from mmssl.registry import MODELS
from mmssl.testing.synthetic_batch import nuscenes_keyframe_batch


def _build(kind, voxel_type, max_num_points):
    return MODELS.build(
        dict(
            type=kind,
            voxel=True,
            voxel_type=voxel_type,
            voxel_layer=dict(
                max_num_points=max_num_points,
                voxel_size=[0.6, 0.6, 0.4],
                point_cloud_range=[-54.0, -54.0, -5.0, 54.0, 54.0, 3.0],
                max_voxels=(3000, 4000),
            ),
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True,
        )
    )


def test_hard_and_dynamic_voxels_equal_mmdet3d(nuscenes_demo_dir):
    batch = nuscenes_keyframe_batch(nuscenes_demo_dir, image_size=(64, 160), batch_size=2)
    batch['inputs']['points'][1] = batch['inputs']['points'][1][::3].contiguous()
    for voxel_type, max_pts in (('hard', 8), ('dynamic', -1)):
        ours = _build('TorchVoxelDataPreprocessor', voxel_type, max_pts)
        ref = _build('mmdet3d.Det3DDataPreprocessor', voxel_type, max_pts)
        for training in (True, False):
            ours.train(training)
            ref.train(training)
            a = ours(batch, training)['inputs']
            b = ref(batch, training)['inputs']
            assert torch.equal(a['imgs'], b['imgs'])
            for key, value in b['voxels'].items():
                assert torch.equal(a['voxels'][key], value.to(a['voxels'][key].dtype)), key
    # The budget of the hard voxels is hit (train 3000 / test 4000 voxels per sample).
    hard = _build('TorchVoxelDataPreprocessor', 'hard', 8)
    assert hard(batch, True)['inputs']['voxels']['coors'][:, 0].eq(0).sum() == 3000
    hard.eval()
    assert hard(batch, False)['inputs']['voxels']['coors'][:, 0].eq(0).sum() == 4000
