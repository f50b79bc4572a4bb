# ScaLR's pre-training schedule (configs/pretrain/WI_768_pretrain.yaml, METHOD_FACTS 8): AdamW
# lr 2e-3, weight decay 0.03, 3,500 linear warm-up iterations, then cosine decay to 1e-5 over 25
# epochs at batch 8.
lr = 2e-3
max_epochs = 25
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, weight_decay=0.03),
    constructor='TrainableOptimWrapperConstructor',
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=3500),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=8)
