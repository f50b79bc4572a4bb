# The camera-only branch of the tiny BEVFusion (bevfusion_tiny_synthetic.py without its LiDAR
# branch and fuser): the same image encoder and LSS view transform without LiDAR depth input,
# 0.8 m BEV cells (64 x 128, the tiny CenterPoint's grid), SECOND + SECONDFPN on the 16 camera
# channels, the same heads, data and schedule. The camera student of
# configs/bevdistill/bevdistill_bevfusion_tiny.py; the pipeline still loads the LiDAR sweeps
# (for a LiDAR teacher), the model does not read them.
_base_ = ['./bevfusion_tiny_synthetic.py']
model = dict(
    data_preprocessor=dict(voxel=False),
    view_transform=dict(depth_input=False),
    pts_voxel_encoder=None,
    pts_middle_encoder=None,
    fusion_layer=None,
    pts_backbone=dict(in_channels=16),
)
