# `make demo`: NS-MAE pre-training of the tiny BEVFusion on the synthetic world
# (data/synthetic-nuscenes, written by `make data`), a few minutes on a CPU. The tiny config
# with a longer iteration schedule and a demo-only learning rate of 1e-3 (the paper's 1e-4 moves
# too little in 200 iterations to see); renderings beside their targets are written to
# <work_dir>/render_vis/ every 50 iterations (and to TensorBoard), the fine-tuning config of the
# checkpoint is `downstream_config`.
_base_ = ['./nsmae_bevfusion_tiny.py']
max_iters = 200
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_iters))
custom_hooks = [
    dict(type='ComputeStatsHook'),
    dict(type='NSMAERenderVisHook', interval=50, stride=2),
]
