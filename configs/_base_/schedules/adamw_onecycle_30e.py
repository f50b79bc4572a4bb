# AD-L-JEPA pre-training schedule (paper Sec. IV-B; official cfg, METHOD_FACTS 3): OpenPCDet's
# adam_onecycle (Adam with decoupled weight decay = AdamW, betas (0.9, 0.99)) lr 3e-4, weight
# decay 0.01, one-cycle with pct_start 0.4 and div_factor 10, grad clip 10, 30 epochs.
# Deviation: beta_1 stays 0.9 (OpenPCDet cycles it 0.95 -> 0.85 -> 0.95; MMEngine's one-cycle
# schedules the learning rate only).
lr = 3e-4
max_epochs = 30
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.99), weight_decay=0.01),
    clip_grad=dict(max_norm=10, norm_type=2),
    # frozen target generators / EMA teachers stay out of the optimizer
    constructor='TrainableOptimWrapperConstructor',
)
param_scheduler = [
    dict(type='OneCycleLR', eta_max=lr, pct_start=0.4, div_factor=10.0, final_div_factor=1e4,
         total_steps=None, by_epoch=True, convert_to_iter_based=True, begin=0, end=max_epochs),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=16)
