# UniPAD pre-training of BEVFusion's camera and LiDAR encoders together, as one model, on nuScenes
# (beyond the official code, whose fusion weights merge a camera-only and a LiDAR-only
# pre-training: that recipe is unipad_bevdet.py + unipad_centerpoint.py and
# tools/merge_checkpoints.py, see README.md). Official camera schedule: AdamW 2e-4, wd 0.01,
# 500 warm-up iterations, cosine over 12 epochs. The pipeline loads points and images without SSL
# masks; the model masks both (camera patches, LiDAR blocks).
# Config naming rule: {method}_{downstream model}[_{variant}].py; `downstream_config` is the
# detector fine-tuned from this checkpoint (identity prefix map over the encoders).
_base_ = [
    '../_base_/datasets/nus_occ_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_cosine_12e.py',
    './_base_/unipad_bevfusion_model.py',
]
downstream_config = 'projects/BEVFusion/configs/bevfusion_full_nus.py'
custom_hooks = [
    dict(type='ComputeStatsHook'),
    dict(type='RenderVisHook', interval=1000),
]
