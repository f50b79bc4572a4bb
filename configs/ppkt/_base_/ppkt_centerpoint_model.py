# PPKT on the CenterPoint LiDAR encoders (SLidR's driving re-implementation, METHOD_FACTS 11):
# 4096 random point-pixel pairs per batch, InfoNCE at tau 0.07 between the 64-d L2-normalised
# point projection and a trainable 1x1 conv (64-d) on the frozen teacher's map. Teacher: DINOv2
# ViT-S/14 (the shared base); the official one is a MoCo-v2 ResNet-50 (no such weights here).
_base_ = ['../../_base_/models/image2lidar_centerpoint_model.py']
ppkt_teacher_channels = 384
model = dict(
    type='PPKT',
    num_pairs=4096,
    point_head=dict(
        type='PointProjectionHead', in_channels={{_base_.image2lidar_bev_channels}}, out_channels=64
    ),
    image_head=dict(type='PixelProjectionHead', in_channels=ppkt_teacher_channels, out_channels=64),
    loss=dict(type='InfoNCELoss', temperature=0.07, loss_weight=1.0, normalize=True),
)
