# Tiny SLidR / CenterPoint on the synthetic world (CPU): the encoders of
# projects/CenterPoint/configs/centerpoint_tiny_synthetic.py, SLIC superpixels of the world's
# 180x320 renders at full resolution (150 segments; built by tools/make_superpixels.py, or by the
# label-efficiency harness when missing), a randomly initialised DINOv2 ViT-S/14 teacher at 126x224
# (`python tools/make_random_teacher.py CONFIG`), iteration-based AdamW 1e-3.
_base_ = [
    '../_base_/datasets/synthetic_nus_image2lidar_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_iter.py',
    './_base_/slidr_centerpoint_model.py',
]
downstream_config = 'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py'
slidr_pcr = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]
slidr_teacher_file = 'data/weights/dinov2_vits14_random_seed0.pth'
random_teacher_weights = dict(arch='vit_small_patch14_dinov2', seed=0, checkpoint=slidr_teacher_file)
train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
    dict(type='LoadSSLPointsFromMultiSweeps', sweeps_num={{_base_.num_sweeps}}, load_dim=5,
         use_dim=[0, 1, 2, 3, 4], pad_empty_sweeps=True, remove_close=True),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}}),
    dict(type='LoadSuperpixels', cache_root='data/superpixels', source='slic'),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-0.2618, 0.2618],
         scale_ratio_range=[0.95, 1.05], translation_std=[0.2, 0.2, 0.1]),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='SSLPointsRangeFilter', point_cloud_range={{_base_.point_cloud_range}}),
    dict(type='mmdet3d.PointShuffle'),
    dict(type='PackSSLInputs', keys=['points']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(
    data_preprocessor=dict(
        _delete_=True, type='TorchVoxelDataPreprocessor', voxel=True,
        voxel_layer=dict(max_num_points=10, voxel_size=[0.2, 0.2, 0.4], max_voxels=(40000, 40000),
                         point_cloud_range=slidr_pcr)),
    pts_middle_encoder=dict(
        _delete_=True, type='mmdet3d.SparseEncoder', in_channels=5, sparse_shape=[21, 512, 256],
        output_channels=32, order=('conv', 'norm', 'act'), encoder_channels=((8, 16), (16, 32), (32,)),
        encoder_paddings=((0, 1), (0, [0, 1, 1]), (0,)), block_type='basicblock', base_channels=8),
    point_cloud_range=slidr_pcr,
    point_head=dict(in_channels=64),
    target_generator=dict(
        features=dict(teacher=dict(checkpoint=slidr_teacher_file, input_size=(126, 224), dtype='fp32'))))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(type='CheckpointHook', interval={{_base_.max_iters}}, by_epoch=False))
log_processor = dict(by_epoch=False)
