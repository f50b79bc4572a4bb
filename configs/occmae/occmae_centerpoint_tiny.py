# Tiny Occupancy-MAE / CenterPoint on the synthetic world (CPU): the encoders of
# projects/CenterPoint/configs/centerpoint_tiny_synthetic.py (0.2 x 0.2 x 0.4 m voxels, 32 x 2 x
# 128 x 64 volume), decoder strides (2, 2, 2), (5, 2, 2) to the 20 x 512 x 256 grid, range bands
# in metres from the sensor (the tiny range reaches 57 m), iteration-based AdamW, 100 iterations.
_base_ = [
    '../_base_/datasets/synthetic_nus_lidar_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_iter.py',
    './_base_/occmae_centerpoint_model.py',
]
downstream_config = 'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py'
occmae_pcr = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]
occmae_voxel_size = [0.2, 0.2, 0.4]

model = dict(
    data_preprocessor=dict(
        _delete_=True, type='TorchVoxelDataPreprocessor', voxel=True,
        voxel_layer=dict(max_num_points=10, voxel_size=[0.2, 0.2, 0.4], max_voxels=(40000, 40000),
                         point_cloud_range=occmae_pcr)),
    pts_middle_encoder=dict(
        _delete_=True, type='mmdet3d.SparseEncoder', in_channels=5, sparse_shape=[21, 512, 256],
        output_channels=32, order=('conv', 'norm', 'act'), encoder_channels=((8, 16), (16, 32), (32,)),
        encoder_paddings=((0, 1), (0, [0, 1, 1]), (0,)), block_type='basicblock', base_channels=8),
    lidar_channels=32,
    point_cloud_range=occmae_pcr,
    voxel_size=occmae_voxel_size,
    lidar_masker=dict(point_cloud_range=occmae_pcr, voxel_size=occmae_voxel_size),
    decoder=dict(in_channels=32, channels=(8,), strides=((2, 2, 2), (5, 2, 2))))
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(type='CheckpointHook', interval={{_base_.max_iters}}, by_epoch=False))
log_processor = dict(by_epoch=False)
