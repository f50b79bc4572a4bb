# Tiny NS-MAE / BEVFusion on the synthetic world (CPU): the tiny model of
# configs/nsmae/_base_/nsmae_bevfusion_tiny_model.py with the synthetic pipeline's settings (128x352,
# 4x4 patches, LiDAR masked on the encoder's 0.2 x 0.2 x 0.4 m voxels, 1.2 m BEV cells).
# Iteration-based AdamW schedule (lr 1e-4, wd 0.01, clip 35, 100 iterations) from
# configs/_base_/schedules/adamw_iter.py.
_base_ = [
    '../_base_/datasets/synthetic_nus_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_iter.py',
    './_base_/nsmae_bevfusion_tiny_model.py',
]
downstream_config = 'projects/BEVFusion/configs/bevfusion_tiny_synthetic.py'
model = dict(lidar_masker=None)  # the pipeline masks the LiDAR
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(type='CheckpointHook', interval={{_base_.max_iters}}, by_epoch=False))
log_processor = dict(by_epoch=False)
custom_hooks = [
    dict(type='ComputeStatsHook'),
    dict(type='RenderVisHook', interval=50),
]
