# BEV-MAE pre-training of CenterPoint's LiDAR encoder on nuScenes, label-free (as the official
# code: GT sampling disabled). Official schedule (METHOD_FACTS 6): adam_onecycle lr 3e-4, weight
# decay 0.01, 20 epochs.
_base_ = [
    '../_base_/datasets/nus_lidar_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_onecycle_30e.py',
    './_base_/bevmae_centerpoint_model.py',
]
downstream_config = 'projects/CenterPoint/configs/centerpoint_full_nus.py'
bevmae_epochs = 20
param_scheduler = [
    dict(type='OneCycleLR', eta_max=3e-4, pct_start=0.4, div_factor=10.0, final_div_factor=1e4,
         total_steps=None, by_epoch=True, convert_to_iter_based=True, begin=0, end=bevmae_epochs),
]
train_cfg = dict(max_epochs=bevmae_epochs, val_interval=bevmae_epochs)
