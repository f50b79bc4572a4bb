# ScaLR pre-training of the CenterPoint LiDAR encoders on nuScenes (full size): ScaLR's AdamW 2e-3,
# weight decay 0.03, 3,500 warm-up iterations, cosine to 1e-5 over 25 epochs, batch 8. Teacher
# cache first: python tools/cache_teacher_features.py configs/scalr/scalr_centerpoint.py
_base_ = [
    '../_base_/datasets/nus_image2lidar_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_warmup_cosine_25e.py',
    './_base_/scalr_centerpoint_model.py',
]
downstream_config = 'projects/CenterPoint/configs/centerpoint_full_nus.py'
train_dataloader = dict(batch_size=8)
