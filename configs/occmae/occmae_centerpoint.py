# Occupancy-MAE pre-training of CenterPoint's LiDAR encoder on nuScenes, label-free (the official
# code keeps GT-paste and CBGS on). Official nuScenes schedule (METHOD_FACTS 5): adam_onecycle lr
# 3e-3, weight decay 0.01, 20 epochs, clip 10; a checkpoint every epoch (the authors fine-tune
# from epoch 3: model.init_from.checkpoint=<work_dir>/epoch_3.pth).
_base_ = [
    '../_base_/datasets/nus_lidar_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_onecycle_30e.py',
    './_base_/occmae_centerpoint_model.py',
]
downstream_config = 'projects/CenterPoint/configs/centerpoint_full_nus.py'
occmae_lr = 3e-3
occmae_epochs = 20
optim_wrapper = dict(optimizer=dict(lr=occmae_lr))
param_scheduler = [
    dict(type='OneCycleLR', eta_max=occmae_lr, pct_start=0.4, div_factor=10.0, final_div_factor=1e4,
         total_steps=None, by_epoch=True, convert_to_iter_based=True, begin=0, end=occmae_epochs),
]
train_cfg = dict(max_epochs=occmae_epochs, val_interval=occmae_epochs)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=-1))
