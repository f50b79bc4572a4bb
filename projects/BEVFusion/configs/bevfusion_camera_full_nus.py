# The camera-only branch of BEVFusion on nuScenes (bevfusion_full_nus.py without its LiDAR branch
# and fuser): Swin-T + FPN, LSS without LiDAR depth input, 0.6 m BEV cells over [-54, 54] m (the
# full CenterPoint's grid), SECOND + SECONDFPN on the 80 camera channels, the same head, data and
# schedule. The camera student of configs/bevdistill/bevdistill_bevfusion.py.
_base_ = ['./bevfusion_full_nus.py']
model = dict(
    data_preprocessor=dict(voxel=False),
    view_transform=dict(depth_input=False),
    pts_voxel_encoder=None,
    pts_middle_encoder=None,
    fusion_layer=None,
    pts_backbone=dict(in_channels=80),
)
