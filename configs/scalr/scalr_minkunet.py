# ScaLR pre-training of the LiDAR segmentation model's MinkUNet-34 backbone on nuScenes (full size),
# ScaLR's AdamW 2e-3 schedule (3,500 warm-up iterations, cosine, 25 epochs, batch 8);
# fine-tunes projects/MinkUNet/configs/minkunet_lidarseg_full_nus.py.
_base_ = [
    '../_base_/datasets/nus_image2lidar_seg_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_warmup_cosine_25e.py',
    './_base_/scalr_minkunet_model.py',
]
downstream_config = 'projects/MinkUNet/configs/minkunet_lidarseg_full_nus.py'
train_dataloader = dict(batch_size=8)
