# SLidR's (and its PPKT re-implementation's) pre-training schedule (config/slidr_minkunet.yaml,
# METHOD_FACTS 7): SGD lr 0.5, momentum 0.9, dampening 0.1, weight decay 1e-4, cosine decay over
# 50 epochs at batch 4 on one GPU.
lr = 0.5
max_epochs = 50
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=lr, momentum=0.9, dampening=0.1, weight_decay=1e-4),
    constructor='TrainableOptimWrapperConstructor',
)
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=4)
