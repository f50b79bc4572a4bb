# OccFeat pre-training schedule (Sec. 3.3, "OccFeat pretraining"): Adam, weight decay 1e-7,
# constant lr 1e-3, 50 epochs (100 for the paper's dagger runs: max_epochs=100). Batch 16 = 4 GPUs
# x 4. No gradient clipping (the paper names none).
lr = 1e-3
max_epochs = 50
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=lr, weight_decay=1e-7),
    # frozen target generators / EMA teachers stay out of the optimizer
    constructor='TrainableOptimWrapperConstructor',
)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(enable=False, base_batch_size=16)
