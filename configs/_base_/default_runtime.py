# Runtime shared by every mmssl config (MMEngine Runner fields).
default_scope = 'mmssl'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='mmdet3d.Det3DVisualizationHook'),
    # Checkpoints keep every generator's state, so `--resume` continues exactly (docs/reliability.md).
    rng_state=dict(type='RNGStateHook'),
    # A non-finite loss or gradient norm stops the run (max_skips=N skips up to N bad steps).
    divergence_guard=dict(type='DivergenceGuardHook', max_skips=0),
    # bad_sample='skip' datasets: which samples were left out, and why, at the end of the run.
    bad_samples=dict(type='BadSampleSummaryHook'),
    # Trainable-parameter count and share per top-level module (docs/finetuning.md).
    trainable_params=dict(type='TrainableParamsHook'),
)
# Compute accounting (it/s, data time, peak memory, device-hours) in every run's log/scalars.
custom_hooks = [dict(type='ComputeStatsHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # 'nccl' on GPUs; tools/train.py switches to 'gloo' when no CUDA device is present.
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='mmdet3d.Det3DLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(
    type='LogProcessor',
    window_size=10,
    by_epoch=True,
    # Cumulative figures are shown as they stand, not averaged over the window.
    custom_cfg=[
        dict(data_src='device_hours', method_name='max', window_size='global'),  # monotonic
        dict(data_src='peak_mem_mb', method_name='max', window_size='global'),
    ],
)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
