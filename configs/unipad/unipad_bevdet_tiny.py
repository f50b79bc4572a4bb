# Tiny camera-only UniPAD on the synthetic world; encoders equal those of
# projects/BEVDet/configs/bevdet_tiny_synthetic.py (0.8 m cells over [-25.6, 25.6] x
# [-51.2, 51.2] m, no LiDAR depth input). See unipad_bevfusion_tiny.py.
_base_ = ['./unipad_bevfusion_tiny.py']
downstream_config = 'projects/BEVDet/configs/bevdet_tiny_synthetic.py'
custom_imports = dict(
    imports=['projects.BEVFusion.bevfusion', 'projects.BEVDet.bevdet'],
    allow_failed_imports=False)
model = dict(
    data_preprocessor=dict(
        _delete_=True, type='mmdet3d.Det3DDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
    view_transform=dict(
        _delete_=True, type='LSSViewTransform', in_channels=32, out_channels=16,
        image_size=[128, 352], feature_size=[16, 44], xbound=[-25.6, 25.6, 0.8],
        ybound=[-51.2, 51.2, 0.8], zbound=[-10.0, 10.0, 20.0], dbound=[1.0, 60.0, 2.0],
        downsample=2),
    pts_voxel_encoder=None,
    pts_middle_encoder=None,
    lidar_masker=None)
