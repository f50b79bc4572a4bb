# Tiny NS-MAE/BEVFusion model for CPU tests and the synthetic world. Its encoders equal those of
# the tiny detector projects/BEVFusion/configs/bevfusion_tiny_synthetic.py (checked by
# tests/test_models/test_algorithms/test_method_configs.py): 128x352 images, ResNet-18 with 8
# base channels, 0.4 m camera cells (0.8 m after the stride-2 downsampling), 0.2 x 0.2 x 0.4 m
# LiDAR voxels and a 3-stage sparse encoder (stride 4): a 64 x 128 BEV of 0.8 m cells over the
# detector's rectangle [-25.6, 25.6] x [-51.2, 51.2] m. NS-MAE parts: 4x4 image patches (the
# paper's patch size at 128x352), 1.2 m BEV depth cells, few rays. Same structure as
# nsmae_bevfusion_model.py.
_base_ = ['./nsmae_bevfusion_model.py']
nsmae_pcr = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]
nsmae_voxel_size = [0.2, 0.2, 0.4]
nsmae_image_size = [128, 352]
nsmae_img_channels = 16
nsmae_lidar_channels = 32
model = dict(
    data_preprocessor=dict(
        voxel_layer=dict(max_num_points=10, point_cloud_range=nsmae_pcr,
                         voxel_size=nsmae_voxel_size, max_voxels=[40000, 40000])),
    img_backbone=dict(
        _delete_=True, type='mmdet.ResNet', depth=18, base_channels=8, stem_channels=8,
        num_stages=4, out_indices=(1, 2, 3), frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False, style='pytorch',
        init_cfg=None),
    img_neck=dict(in_channels=[16, 32, 64], out_channels=32),
    view_transform=dict(
        in_channels=32, out_channels=nsmae_img_channels, image_size=nsmae_image_size,
        feature_size=[nsmae_image_size[0] // 8, nsmae_image_size[1] // 8],
        xbound=[-25.6, 25.6, 0.4], ybound=[-51.2, 51.2, 0.4], dbound=[1.0, 60.0, 2.0],
        downsample=2, depth_input=True, depth_channels=8),
    pts_middle_encoder=dict(
        sparse_shape=[21, 512, 256], output_channels=nsmae_lidar_channels, base_channels=8,
        encoder_channels=((8, 16), (16, 32), (32,)), encoder_paddings=((0, 1), (0, [0, 1, 1]), (0,))),
    lidar_channels=nsmae_lidar_channels,
    point_cloud_range=nsmae_pcr,
    render_z_bins=8,
    render_head=dict(in_channels=nsmae_img_channels + nsmae_lidar_channels, point_cloud_range=nsmae_pcr,
                     feat_channels=16,
                     color_feat_channels=8, mlp_hidden=32),
    img_masker=dict(patch_size=4),
    lidar_masker=dict(voxel_size=nsmae_voxel_size, point_cloud_range=nsmae_pcr),
    per_sampler=dict(num_random=64, num_depth=32),
    bev_sampler=dict(num_random=128, num_depth=128, cell_size=(1.2, 1.2)))
