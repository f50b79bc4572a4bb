# BEV-MAE model on the CenterPoint embedding network (the encoders of
# projects/CenterPoint/configs/centerpoint_full_nus.py, checked by
# tests/test_configs/test_lidar_pretrain_configs.py). Paper/official defaults (METHOD_FACTS 6):
# 70% of the non-empty BEV cells at the encoder's stride (0.6 m here: 0.075 m voxels x 8; the
# paper's 0.8 m is 0.1 m x 8), no empty cell; masked voxels keep their coordinates with a
# zero-initialised point token; one 3 x 3 conv-BN-ReLU decoder predicting 20 points and a density
# per cell; Chamfer (up to 20 target points per pillar; official 30: max_target_points=30) +
# Smooth-L1 density.
custom_imports = dict(imports=['projects.CenterPoint.centerpoint'], allow_failed_imports=False)
bevmae_pcr = [-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]
bevmae_voxel_size = [0.075, 0.075, 0.2]
bevmae_bev_cell_size = [0.6, 0.6]
bevmae_embed_dims = 256  # 128 x 2
model = dict(
    type='BEVMAE',
    data_preprocessor=dict(
        type='TorchVoxelDataPreprocessor', voxel=True, voxel_type='hard',
        voxel_layer=dict(max_num_points=10, voxel_size=bevmae_voxel_size, max_voxels=(90000, 120000),
                         point_cloud_range=[-54, -54, -5.0, 54, 54, 3.0])),
    pts_voxel_encoder=dict(type='mmdet3d.HardSimpleVFE', num_features=5),
    pts_middle_encoder=dict(
        type='mmdet3d.SparseEncoder', in_channels=5, sparse_shape=[41, 1440, 1440], output_channels=128,
        order=('conv', 'norm', 'act'),
        encoder_channels=((16, 16, 32), (32, 32, 64), (64, 64, 128), (128, 128)),
        encoder_paddings=((0, 0, 1), (0, 0, 1), (0, 0, [0, 1, 1]), (0, 0)),
        block_type='basicblock'),
    point_cloud_range=bevmae_pcr,
    voxel_size=bevmae_voxel_size,
    point_token_dims=5,
    max_target_points=20,
    z_scale=None,  # the range's height; official: 6 m (Waymo)
    # per sample; the official code: nonempty_scope='batch'
    lidar_masker=dict(type='BEVGuidedMasker', point_cloud_range=bevmae_pcr,
                      bev_cell_size=bevmae_bev_cell_size, ratio_nonempty=0.7, ratio_empty=0.0),
    decoder=dict(type='BEVPointDecoder', in_channels=bevmae_embed_dims, num_points=20),
    loss_chamfer=dict(type='ChamferLoss', weight_pred=1.0, weight_target=1.0, loss_weight=1.0),
    loss_density=dict(type='mmdet.SmoothL1Loss', beta=1.0, loss_weight=1.0))
