# CenterPoint (LiDAR only) on nuScenes at the published MMDet3D settings: 0.075 m voxels,
# 10 sweeps (the reference point cloud + 9 sweeps), CBGS + GT-paste, cyclic 20 epochs, circle
# NMS. Inherits MMDet3D's own config from the pip package (`mmdet3d::` = mmdet3d/.mim/configs);
# changes: the pure-PyTorch voxeliser (`mmssl.TorchVoxelDataPreprocessor`) and mmssl's
# CenterPoint (head init fix, see projects/CenterPoint/README.md).
_base_ = ['mmdet3d::centerpoint/centerpoint_voxel0075_second_secfpn_head-circlenms_8xb4-cyclic-20e_nus-3d.py']
custom_imports = dict(imports=['projects.CenterPoint.centerpoint'], allow_failed_imports=False)
default_scope = 'mmssl'
# mmssl's compute accounting (it/s, peak memory, device-hours), as in configs/_base_/default_runtime.py
custom_hooks = [dict(type='ComputeStatsHook')]
# mmssl's reliability defaults, as in configs/_base_/default_runtime.py (docs/reliability.md):
# exact resume (generator states in checkpoints), divergence guard, a fixed seed.
default_hooks = dict(
    rng_state=dict(type='RNGStateHook'),
    divergence_guard=dict(type='DivergenceGuardHook', max_skips=0),
    bad_samples=dict(type='BadSampleSummaryHook'),
)
randomness = dict(seed=0)
model = dict(
    type='mmssl.CenterPoint',
    data_preprocessor=dict(type='mmssl.TorchVoxelDataPreprocessor'),
    # Fine-tuning from a LiDAR pre-training checkpoint (e.g. AD-L-JEPA): set the checkpoint.
    # A first sparse layer pre-trained on another number of point features is skipped
    # (shape mismatch, warned) unless strict=True.
    init_from=dict(
        checkpoint=None,
        prefix_map={'pts_voxel_encoder.': 'pts_voxel_encoder.', 'pts_middle_encoder.': 'pts_middle_encoder.'},
        strict=False,
    ),
)
# mmssl's NuScenesMetric: MMDet3D's, plus a result without any box scored (mAP = NDS = 0)
# instead of the devkit's "Invalid box type" crash.
val_evaluator = dict(type='mmssl.NuScenesMetric')
test_evaluator = val_evaluator
