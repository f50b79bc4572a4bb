# Occupancy-MAE model on the CenterPoint embedding network (the encoders of
# projects/CenterPoint/configs/centerpoint_full_nus.py, checked by
# tests/test_configs/test_lidar_pretrain_configs.py). Paper defaults: range-aware masking in
# metres from the sensor (bands [0, 30], (30, 50], (50, inf) m, ratios 0.9 / 0.7 / 0.7), masked
# voxels dropped; 3D transposed-conv decoder to the input grid (128 x 2 x 180 x 180 -> 40 x 1440 x
# 1440); BCE over the dense grid. The official code's effective masking (METHOD_FACTS 5):
# lidar_masker.range_distance='corner_index', range_ratios=(0.5, 0.3, 0.3).
custom_imports = dict(imports=['projects.CenterPoint.centerpoint'], allow_failed_imports=False)
occmae_pcr = [-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]
occmae_voxel_size = [0.075, 0.075, 0.2]
occmae_lidar_channels = 128
model = dict(
    type='OccupancyMAE',
    data_preprocessor=dict(
        type='TorchVoxelDataPreprocessor', voxel=True, voxel_type='hard',
        voxel_layer=dict(max_num_points=10, voxel_size=occmae_voxel_size, max_voxels=(90000, 120000),
                         point_cloud_range=[-54, -54, -5.0, 54, 54, 3.0])),
    pts_voxel_encoder=dict(type='mmdet3d.HardSimpleVFE', num_features=5),
    pts_middle_encoder=dict(
        type='mmdet3d.SparseEncoder', in_channels=5, sparse_shape=[41, 1440, 1440], output_channels=128,
        order=('conv', 'norm', 'act'),
        encoder_channels=((16, 16, 32), (32, 32, 64), (64, 64, 128), (128, 128)),
        encoder_paddings=((0, 0, 1), (0, 0, 1), (0, 0, [0, 1, 1]), (0, 0)),
        block_type='basicblock'),
    lidar_channels=occmae_lidar_channels,
    point_cloud_range=occmae_pcr,
    voxel_size=occmae_voxel_size,
    lidar_masker=dict(type='VoxelMasker', point_cloud_range=occmae_pcr, voxel_size=occmae_voxel_size,
                      mode='range_aware', range_band_edges=(30.0, 50.0), range_ratios=(0.9, 0.7, 0.7),
                      range_distance='sensor'),
    decoder=dict(type='OccupancyDecoder3D', in_channels=occmae_lidar_channels, channels=(32, 8),
                 strides=((2, 2, 2), (5, 2, 2), (2, 2, 2))),
    loss_occ=dict(type='OccupancyBCELoss', pos_weight=None, loss_weight=1.0))
