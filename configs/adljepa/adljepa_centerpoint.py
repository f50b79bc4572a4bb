# AD-L-JEPA pre-training of CenterPoint's LiDAR encoder on nuScenes, label-free (no GT-paste,
# no CBGS; the official code keeps GT sampling on). Schedule of the paper (Sec. IV-B): AdamW
# one-cycle 3e-4, weight decay 0.01, 30 epochs; EMA momentum linear 0.996 -> 1 per iteration.
_base_ = [
    '../_base_/datasets/nus_lidar_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_onecycle_30e.py',
    './_base_/adljepa_centerpoint_model.py',
]
downstream_config = 'projects/CenterPoint/configs/centerpoint_full_nus.py'
custom_hooks = [
    dict(type='ComputeStatsHook'),
    dict(type='TeacherMomentumHook', start=0.996, end=1.0, schedule='linear'),
    dict(type='CollapseMonitorHook', interval=500, min_effective_rank=8.0),
]
