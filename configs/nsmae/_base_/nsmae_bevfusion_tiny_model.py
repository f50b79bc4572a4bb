# Tiny NS-MAE/BEVFusion model for CPU tests and the synthetic world. Its encoders equal those of
# the tiny detector projects/BEVFusion/configs/bevfusion_tiny_synthetic.py (checked by
# tests/test_models/test_algorithms/test_nsmae_configs.py): 128x352 images, ResNet-18 with 8
# base channels, 1.8 m camera cells (3.6 m after the stride-2 downsampling), 0.45 x 0.45 x 0.2 m
# LiDAR voxels (30 x 30 BEV). NS-MAE parts: 4x4 image patches (the paper's patch size at
# 128x352), 1.2 m BEV depth cells, few rays. Same structure as nsmae_bevfusion_model.py.
_base_ = ['./nsmae_bevfusion_model.py']
nsmae_voxel_size = [0.45, 0.45, 0.2]
nsmae_image_size = [128, 352]
nsmae_img_channels = 16
nsmae_lidar_channels = 32
model = dict(
    data_preprocessor=dict(
        voxel_layer=dict(max_num_points=5, voxel_size=nsmae_voxel_size,
                         max_voxels=[40000, 40000])),
    img_backbone=dict(
        _delete_=True, type='mmdet.ResNet', depth=18, base_channels=8, stem_channels=8,
        num_stages=4, out_indices=(1, 2, 3), frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False, style='pytorch',
        init_cfg=None),
    img_neck=dict(in_channels=[16, 32, 64], out_channels=32),
    view_transform=dict(
        in_channels=32, out_channels=nsmae_img_channels, image_size=nsmae_image_size,
        feature_size=[nsmae_image_size[0] // 8, nsmae_image_size[1] // 8],
        xbound=[-54.0, 54.0, 1.8], ybound=[-54.0, 54.0, 1.8], dbound=[1.0, 60.0, 2.0],
        downsample=2, depth_input=True, depth_channels=8),
    pts_middle_encoder=dict(
        sparse_shape=[41, 240, 240], output_channels=nsmae_lidar_channels, base_channels=8,
        encoder_channels=((8, 8, 16), (16, 16, 32), (32, 32, 32), (32, 32))),
    lidar_channels=nsmae_lidar_channels,
    render_z_bins=8,
    render_head=dict(in_channels=nsmae_img_channels + nsmae_lidar_channels, feat_channels=16,
                     color_feat_channels=8, mlp_hidden=32),
    img_masker=dict(patch_size=4),
    lidar_masker=dict(voxel_size=nsmae_voxel_size),
    per_sampler=dict(num_random=64, num_depth=32),
    bev_sampler=dict(num_random=128, num_depth=128, cell_size=(1.2, 1.2)))
