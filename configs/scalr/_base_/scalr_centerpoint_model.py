# ScaLR on the CenterPoint LiDAR encoders (METHOD_FACTS 8): a frozen DINOv2 ViT-L/14 at 224x448,
# tokens of the last block before the final LayerNorm (after_norm=False), read at each point's
# pixel (its first camera); a linear head from the 256-channel point features to the teacher's
# 1024; loss mean ||n(s) - n(t)||. ScaLR's own pairing (one random camera per scan, the cloud cut
# to its frustum): model.one_camera=True.
_base_ = ['../../_base_/models/image2lidar_centerpoint_model.py']
scalr_teacher_channels = 1024
model = dict(
    type='ScaLR',
    one_camera=False,
    point_head=dict(
        type='PointProjectionHead',
        in_channels={{_base_.image2lidar_bev_channels}},
        out_channels=scalr_teacher_channels,
    ),
    target_generator=dict(
        features=dict(
            teacher=dict(
                arch='vit_large_patch14_dinov2',
                checkpoint='data/weights/dinov2_vitl14_pretrain.pth',
                input_size=(224, 448),
                after_norm=False,
            )
        )
    ),
    loss=dict(type='NormalizedL2Loss', loss_weight=1.0),
)
