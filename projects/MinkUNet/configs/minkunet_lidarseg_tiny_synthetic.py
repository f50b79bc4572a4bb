# Tiny MinkUNet for CPU tests and the synthetic world: the full config's structure (4-stage sparse
# U-Net, linear head, 16 nuScenes lidarseg classes) at base 16 channels, encoder 16-32-64-128 and
# decoder 128-64-48-48 with one basic block per stage (2.9 M parameters), 0.2 m voxels (12,596
# voxels on the real nuScenes keyframe's 34,688 points). Schedule: AdamW with a linear warm-up over
# the first quarter of the iterations (the label-efficiency harness stretches it with the budget:
# still one iteration at its 4-iteration `micro` preset) and a cosine decay over the iteration
# budget (no `end`: MMEngine ends it at `train_cfg.max_iters`).
_base_ = [
    '../../../configs/_base_/datasets/synthetic_nus_lidarseg.py',
    '../../../configs/_base_/default_runtime.py',
    './_base_/minkunet_lidarseg_model.py',
]
lidarseg_voxel_size = [0.2, 0.2, 0.2]
model = dict(
    data_preprocessor=dict(voxel_layer=dict(voxel_size=lidarseg_voxel_size)),
    backbone=dict(
        base_channels=16,
        encoder_channels=[16, 32, 64, 128],
        encoder_blocks=[1, 1, 1, 1],
        decoder_channels=[128, 64, 48, 48],
        decoder_blocks=[1, 1, 1, 1],
    ),
    decode_head=dict(channels=48),
)
train_dataloader = dict(batch_size=2)

max_iters = 100
lr = 4e-3
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, weight_decay=0.01),
    clip_grad=dict(max_norm=10, norm_type=2),
    constructor='TrainableOptimWrapperConstructor',  # frozen parameters (probe) stay out
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.04, by_epoch=False, begin=0, end=25),
    dict(type='CosineAnnealingLR', eta_min_ratio=1e-3, by_epoch=False, begin=0),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=max_iters, by_epoch=False))
log_processor = dict(by_epoch=False)
