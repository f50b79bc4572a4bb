# UniPAD's camera pre-training schedule (official uvtr_cam_vs0.075_pretrain.py): AdamW 2e-4,
# weight decay 0.01, 500 linear warm-up iterations then cosine decay over 12 epochs.
lr = 2e-4
max_epochs = 12
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, weight_decay=0.01),
    clip_grad=dict(max_norm=35, norm_type=2),
    constructor='TrainableOptimWrapperConstructor',
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min_ratio=1e-3, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=4)
