# UniPAD pre-training, camera only (BEVDet), on nuScenes: the official
# single-modality recipe; two such checkpoints merge into BEVFusion's with tools/merge_checkpoints.py.
# See unipad_bevfusion.py for the schedule and the pipeline.
_base_ = [
    '../_base_/datasets/nus_occ_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_cosine_12e.py',
    './_base_/unipad_bevdet_model.py',
]
downstream_config = 'projects/BEVDet/configs/bevdet_full_nus.py'
custom_hooks = [
    dict(type='ComputeStatsHook'),
    dict(type='RenderVisHook', interval=1000),
]
