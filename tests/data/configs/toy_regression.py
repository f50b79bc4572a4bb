# A millisecond-scale training job for launcher / resume / AMP tests (see mmssl/testing/toy.py).
_base_ = ['../../../configs/_base_/default_runtime.py']
custom_imports = dict(imports=['mmssl.testing.toy'], allow_failed_imports=False)

model = dict(type='ToyRegressor', dim=8, hidden=16)
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ToyRegressionDataset', num_samples=64, dim=8, seed=0),
)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-2, weight_decay=0.01))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=8)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', interval=4, by_epoch=False, max_keep_ckpts=5),
)
custom_hooks = [dict(type='ComputeStatsHook'), dict(type='DumpStateHook')]
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
log_processor = dict(by_epoch=False)
test_dataloader = dict(
    batch_size=8,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ToyRegressionDataset', num_samples=16, dim=8, seed=0),
)
test_evaluator = dict(type='ToyMSEMetric')
test_cfg = dict(type='TestLoop')
