# BEVFusion (camera + LiDAR) on nuScenes at the published settings: 256x704 images, 9 sweeps,
# 0.075 m voxels; detection fine-tuning schedule of NS-MAE (20 epochs, AdamW 1e-4, wd 0.01,
# clip 35, one-cycle). Set `init_from` (see the project README) to start from pre-training.
_base_ = [
    '../../../configs/_base_/datasets/nus_det.py',
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/adamw_onecycle_50e.py',
    './_base_/bevfusion_lc_model.py',
]
train_dataloader = dict(batch_size=4)
max_epochs = 20
param_scheduler = [
    dict(
        type='OneCycleLR',
        eta_max={{_base_.lr}},
        pct_start=0.4,
        div_factor=10.0,
        final_div_factor=1e4,
        total_steps=None,
        by_epoch=True,
        convert_to_iter_based=True,
        begin=0,
        end=max_epochs,
    ),
]
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
