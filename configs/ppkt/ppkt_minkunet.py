# PPKT pre-training of the LiDAR segmentation model's MinkUNet-34 backbone on nuScenes (full size),
# SLidR's SGD schedule (lr 0.5, cosine, 50 epochs, batch 4);
# fine-tunes projects/MinkUNet/configs/minkunet_lidarseg_full_nus.py.
_base_ = [
    '../_base_/datasets/nus_image2lidar_seg_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/sgd_cosine_50e.py',
    './_base_/ppkt_minkunet_model.py',
]
downstream_config = 'projects/MinkUNet/configs/minkunet_lidarseg_full_nus.py'
