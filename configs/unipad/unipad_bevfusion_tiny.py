# Tiny UniPAD / BEVFusion (camera + LiDAR jointly) on the synthetic world (CPU): the model of
# _base_/unipad_bevfusion_tiny_model.py on the synthetic points + images pipeline (no SSL masks in
# the pipeline: the model masks), iteration-based AdamW (configs/_base_/schedules/adamw_iter.py).
_base_ = [
    '../_base_/datasets/synthetic_nus_occ_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_iter.py',
    './_base_/unipad_bevfusion_tiny_model.py',
]
downstream_config = 'projects/BEVFusion/configs/bevfusion_tiny_synthetic.py'
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(type='CheckpointHook', interval={{_base_.max_iters}}, by_epoch=False))
log_processor = dict(by_epoch=False)
custom_hooks = [
    dict(type='ComputeStatsHook'),
    dict(type='RenderVisHook', interval=50),
]
