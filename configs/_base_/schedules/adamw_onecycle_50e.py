# NS-MAE pre-training schedule (paper, Sec. 4.1): AdamW lr 1e-4, weight decay 0.01,
# one-cycle policy, 50 epochs, grad clip 35 (official cfg). Batch 16 = 8 GPUs x 2.
lr = 1e-4
max_epochs = 50
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, weight_decay=0.01),
    clip_grad=dict(max_norm=35, norm_type=2),
    # frozen target generators / EMA teachers stay out of the optimizer
    constructor='TrainableOptimWrapperConstructor',
)
param_scheduler = [
    dict(type='OneCycleLR', eta_max=lr, pct_start=0.4, div_factor=10.0, final_div_factor=1e4,
         total_steps=None, by_epoch=True, convert_to_iter_based=True, begin=0, end=max_epochs),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=16)
