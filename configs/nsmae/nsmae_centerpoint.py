# NS-MAE pre-training of CenterPoint (LiDAR only) on nuScenes: masked LiDAR rendered to BEV
# depth and perspective depth (camera calibration only; no colour).
_base_ = [
    '../_base_/datasets/nus_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_onecycle_50e.py',
    './_base_/nsmae_centerpoint_model.py',
]
downstream_config = 'projects/CenterPoint/configs/centerpoint_full_nus.py'
model = dict(lidar_masker=None)  # the pipeline masks the LiDAR
custom_hooks = [
    dict(type='ComputeStatsHook'),
    dict(type='RenderVisHook', interval=1000),
]
