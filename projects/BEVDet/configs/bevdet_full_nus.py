# BEVDet-Tiny (camera only) on nuScenes: 256x704 images, AdamW 2e-4 (paper Sec. 4.1), 24 epochs.
# The shared multimodal pipeline also loads LiDAR; the camera-only model ignores it.
_base_ = [
    '../../../configs/_base_/datasets/nus_det.py',
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/adamw_onecycle_50e.py',
    './_base_/bevdet_model.py',
]
train_dataloader = dict(batch_size=8)
max_epochs = 24
optim_wrapper = dict(optimizer=dict(lr=2e-4))
param_scheduler = [
    dict(
        type='OneCycleLR',
        eta_max=2e-4,
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
