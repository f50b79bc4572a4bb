# NS-MAE pre-training of BEVDet (camera only) on nuScenes: the paper's camera-only variant
# (masked images rendered to colour + depth; LiDAR only supplies the depth targets).
_base_ = [
    '../_base_/datasets/nus_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_onecycle_50e.py',
    './_base_/nsmae_bevdet_model.py',
]
downstream_config = 'projects/BEVDet/configs/bevdet_full_nus.py'
custom_hooks = [
    dict(type='ComputeStatsHook'),
    dict(type='RenderVisHook', interval=1000),
]
