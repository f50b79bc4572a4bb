# Tiny UniPAD/BEVFusion model for CPU tests and the synthetic world. Encoders equal those of the
# tiny detector projects/BEVFusion/configs/bevfusion_tiny_synthetic.py (checked by
# tests/test_models/test_algorithms/test_method_configs.py): 128x352 images, ResNet-18 at 1/8
# width, LSS with LiDAR depth input (16 ch), 0.2 x 0.2 x 0.4 m voxels and a 3-stage sparse encoder
# (32 ch x 5 z levels at stride 4) on the detector's rectangle [-25.6, 25.6] x [-51.2, 51.2] m.
# UniPAD parts at CPU size: a 64 x 128 x 5 render volume (0.8 x 0.8 x 1.6 m), volumes projected to
# 32 channels and added, 32 px patches (4 x 11 per image), blocks of 8 x 8 x 4 encoder voxels
# (1.6 x 1.6 x 1.6 m: the official block size in metres; 8 z voxels of 0.4 m would be 3.2 m, which
# does not tile the 8 m height), 96 rays per camera and 48 + 16 samples per ray; every ResNet stage
# re-masked.
_base_ = ['./unipad_bevfusion_model.py']
unipad_pcr = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]
unipad_voxel_size = [0.2, 0.2, 0.4]
unipad_image_size = [128, 352]
unipad_embed_channels = 32
model = dict(
    data_preprocessor=dict(
        voxel_layer=dict(max_num_points=10, point_cloud_range=unipad_pcr,
                         voxel_size=unipad_voxel_size, max_voxels=[40000, 40000])),
    img_backbone=dict(
        _delete_=True, type='mmdet.ResNet', depth=18, base_channels=8, stem_channels=8,
        num_stages=4, out_indices=(1, 2, 3), frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False, style='pytorch',
        init_cfg=None),
    img_neck=dict(in_channels=[16, 32, 64], out_channels=32),
    view_transform=dict(
        in_channels=32, out_channels=16, image_size=unipad_image_size,
        feature_size=[unipad_image_size[0] // 8, unipad_image_size[1] // 8],
        xbound=[-25.6, 25.6, 0.4], ybound=[-51.2, 51.2, 0.4], dbound=[1.0, 60.0, 2.0],
        downsample=2, depth_input=True, depth_channels=8),
    pts_middle_encoder=dict(
        sparse_shape=[21, 512, 256], output_channels=32, base_channels=8,
        encoder_channels=((8, 16), (16, 32), (32,)), encoder_paddings=((0, 1), (0, [0, 1, 1]), (0,))),
    camera_channels=16,
    lidar_channels=32,
    embed_channels=unipad_embed_channels,
    point_cloud_range=unipad_pcr,
    camera_mask_stages=['maxpool', 'layer1', 'layer2', 'layer3', 'layer4'],
    lidar_masker=dict(voxel_size=[1.6, 1.6, 1.6], point_cloud_range=unipad_pcr),
    render_head=dict(in_channels=unipad_embed_channels, point_cloud_range=unipad_pcr),
    renderer=dict(sampler=dict(point_cloud_range=unipad_pcr, num_coarse=48, num_fine=16)),
    ray_sampler=dict(num_rays=96))
