# Tiny AD-L-JEPA / CenterPoint on the synthetic world (CPU): the encoders of
# projects/CenterPoint/configs/centerpoint_tiny_synthetic.py (0.2 x 0.2 x 0.4 m voxels, BEV
# stride 4: 0.8 m cells, 128 x 64, D = 32 x 2 = 64, gamma = 1/8), LiDAR-only synthetic pipeline,
# iteration-based AdamW at the paper's lr 3e-4 and clip 10, 100 iterations.
_base_ = [
    '../_base_/datasets/synthetic_nus_lidar_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_iter.py',
    './_base_/adljepa_centerpoint_model.py',
]
downstream_config = 'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py'
adljepa_pcr = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]
adljepa_embed_dims = 64
model = dict(
    data_preprocessor=dict(
        _delete_=True, type='TorchVoxelDataPreprocessor', voxel=True,
        voxel_layer=dict(max_num_points=10, voxel_size=[0.2, 0.2, 0.4], max_voxels=(40000, 40000),
                         point_cloud_range=adljepa_pcr)),
    pts_middle_encoder=dict(
        _delete_=True, type='mmdet3d.SparseEncoder', in_channels=5, sparse_shape=[21, 512, 256],
        output_channels=32, order=('conv', 'norm', 'act'), encoder_channels=((8, 16), (16, 32), (32,)),
        encoder_paddings=((0, 1), (0, [0, 1, 1]), (0,)), block_type='basicblock', base_channels=8),
    embed_dims=adljepa_embed_dims,
    lidar_masker=dict(point_cloud_range=adljepa_pcr, bev_cell_size=[0.8, 0.8]),
    predictor=dict(channels=adljepa_embed_dims))
optim_wrapper = dict(optimizer=dict(lr=3e-4), clip_grad=dict(max_norm=10))
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(type='CheckpointHook', interval={{_base_.max_iters}}, by_epoch=False))
log_processor = dict(by_epoch=False)
custom_hooks = [
    dict(type='ComputeStatsHook'),
    dict(type='TeacherMomentumHook', start=0.996, end=1.0, schedule='linear'),
    dict(type='CollapseMonitorHook', interval=10, min_effective_rank=2.0),
]
