# NS-MAE pre-training of BEVFusion (camera + LiDAR) on nuScenes, paper settings (Sec. 4.1):
# 256x704 images, 50% of 8x8 patches masked per camera, 90% of 0.075 m LiDAR voxels masked,
# AdamW 1e-4 / wd 0.01, one-cycle, 50 epochs, batch 16 = 8 GPUs x 2.
# Config naming rule: {method}_{downstream model}[_{variant}].py; the fine-tuning config of
# the downstream model is `downstream_config` (its `init_from` takes this run's checkpoint with
# an identity prefix map over img_backbone, img_neck, view_transform, pts_voxel_encoder,
# pts_middle_encoder).
_base_ = [
    '../_base_/datasets/nus_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_onecycle_50e.py',
    './_base_/nsmae_bevfusion_model.py',
]
downstream_config = 'projects/BEVFusion/configs/bevfusion_full_nus.py'
# The pipeline masks the LiDAR (LidarVoxelMask -> ssl_targets.masked_points) and provides the
# depth maps, image patch masks and BEV depth of the masked voxels.
model = dict(lidar_masker=None)
custom_hooks = [
    dict(type='ComputeStatsHook'),
    dict(type='RenderVisHook', interval=1000),
]
