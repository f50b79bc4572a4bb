# The LiDAR encoders of MMDet3D's 0.075 m nuScenes CenterPoint (HardSimpleVFE + SparseEncoder ->
# 128 channels x 2 z levels over [-54, 54]^2 x [-5, 3] m, BEV stride 8), as
# projects/CenterPoint/configs/centerpoint_full_nus.py builds them. The LiDAR pre-training methods
# (configs/{adljepa,occmae,bevmae}/_base_/) inherit these entries so that their checkpoints hand
# off to the detector with its identity prefix map (tests/test_configs/test_lidar_pretrain_configs.py).
lidar_pcr = [-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]
lidar_voxel_size = [0.075, 0.075, 0.2]
model = dict(
    data_preprocessor=dict(
        type='TorchVoxelDataPreprocessor', voxel=True, voxel_type='hard',
        voxel_layer=dict(max_num_points=10, voxel_size=lidar_voxel_size, max_voxels=(90000, 120000),
                         point_cloud_range=[-54, -54, -5.0, 54, 54, 3.0])),
    pts_voxel_encoder=dict(type='mmdet3d.HardSimpleVFE', num_features=5),
    pts_middle_encoder=dict(
        type='mmdet3d.SparseEncoder', in_channels=5, sparse_shape=[41, 1440, 1440], output_channels=128,
        order=('conv', 'norm', 'act'),
        encoder_channels=((16, 16, 32), (32, 32, 64), (64, 64, 128), (128, 128)),
        encoder_paddings=((0, 0, 1), (0, 0, 1), (0, 0, [0, 1, 1]), (0, 0)),
        block_type='basicblock'))
