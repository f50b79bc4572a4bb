# Tiny SLidR with the point-wise student of projects/MinkUNet/configs/minkunet_lidarseg_tiny_synthetic.py
# (MinkUNet base 16, one block per stage, 0.2 m voxels, 48-channel decoder output) on the synthetic
# world (CPU): a randomly initialised DINOv2 ViT-S/14 teacher at 126x224
# (`python tools/make_random_teacher.py CONFIG`), iteration-based AdamW 1e-3.
_base_ = [
    '../_base_/datasets/synthetic_nus_image2lidar_seg_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_iter.py',
    './_base_/slidr_minkunet_model.py',
]
downstream_config = 'projects/MinkUNet/configs/minkunet_lidarseg_tiny_synthetic.py'
slidr_teacher_file = 'data/weights/dinov2_vits14_random_seed0.pth'
random_teacher_weights = dict(arch='vit_small_patch14_dinov2', seed=0, checkpoint=slidr_teacher_file)
train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}}),
    dict(type='LoadSuperpixels', cache_root='data/superpixels', source='slic'),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-3.1415926, 3.1415926],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='PackSSLInputs', keys=['points']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(
    data_preprocessor=dict(voxel_layer=dict(voxel_size=[0.2, 0.2, 0.2])),
    backbone=dict(base_channels=16, encoder_channels=[16, 32, 64, 128], encoder_blocks=[1, 1, 1, 1],
                  decoder_channels=[128, 64, 48, 48], decoder_blocks=[1, 1, 1, 1]),
    point_head=dict(in_channels=48),
    target_generator=dict(
        features=dict(teacher=dict(arch='vit_small_patch14_dinov2', checkpoint=slidr_teacher_file,
                                   input_size=(126, 224), dtype='fp32'))))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(type='CheckpointHook', interval={{_base_.max_iters}}, by_epoch=False))
log_processor = dict(by_epoch=False)
