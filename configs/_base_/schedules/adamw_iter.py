# Iteration-based AdamW schedule for short runs (CPU tests, the synthetic world).
# Only schedule keys: a config that inherits it sets `default_hooks.checkpoint` / `log_processor`
# itself (bases may not define the same key twice).
lr = 1e-4
max_iters = 100
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, weight_decay=0.01),
    clip_grad=dict(max_norm=35, norm_type=2),
    # frozen target generators / EMA teachers stay out of the optimizer
    constructor='TrainableOptimWrapperConstructor',
)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
