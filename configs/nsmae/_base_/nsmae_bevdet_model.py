# NS-MAE, camera only, on the BEVDet embedding network. The encoder entries equal those of
# projects/BEVDet/configs/_base_/bevdet_model.py (BEVDet-Tiny: Swin-T stages 3-4, neck -> 512 ch
# at 1/16, LSS 1-60 m in 1 m bins, 64 ch, 0.8 m cells over [-51.2, 51.2] m, no depth input);
# checked by tests/test_models/test_algorithms/test_method_configs.py. The volume is the camera
# volume alone; LiDAR is still loaded for the depth targets.
_base_ = ['./nsmae_bevfusion_model.py']
custom_imports = dict(
    imports=['projects.BEVFusion.bevfusion', 'projects.BEVDet.bevdet'],
    allow_failed_imports=False)
nsmae_pcr = [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]
nsmae_img_channels = 64
model = dict(
    data_preprocessor=dict(
        _delete_=True, type='mmdet3d.Det3DDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
    img_backbone=dict(out_indices=[2, 3]),
    img_neck=dict(in_channels=[384, 768], out_channels=512),
    view_transform=dict(
        _delete_=True, type='LSSViewTransform', in_channels=512,
        out_channels=nsmae_img_channels,
        image_size=[256, 704], feature_size=[16, 44], xbound=[-51.2, 51.2, 0.8],
        ybound=[-51.2, 51.2, 0.8], zbound=[-10.0, 10.0, 20.0], dbound=[1.0, 60.0, 1.0],
        downsample=1),
    pts_voxel_encoder=None,
    pts_middle_encoder=None,
    lidar_masker=None,  # no LiDAR encoder: nothing to mask
    point_cloud_range=nsmae_pcr,
    # the pipeline's BEV depth target covers the nuScenes [-54, 54] m range; rays of cells
    # outside the camera volume are not supervised
    bev_sampler=dict(target_range=[-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]),
    render_head=dict(in_channels=nsmae_img_channels, point_cloud_range=nsmae_pcr))
