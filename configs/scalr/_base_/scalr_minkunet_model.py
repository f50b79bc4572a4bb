# ScaLR with the point-wise MinkUNet-34 student of the LiDAR segmentation model (a point-wise
# student, as ScaLR's WaffleIron); method parts as scalr_centerpoint_model.py (ViT-L/14 pre-norm).
_base_ = ['../../_base_/models/image2lidar_minkunet_model.py']
model = dict(
    type='ScaLR',
    one_camera=False,
    point_head=dict(type='PointProjectionHead', in_channels={{_base_.image2lidar_point_channels}},
                    out_channels=1024),
    target_generator=dict(
        features=dict(teacher=dict(arch='vit_large_patch14_dinov2',
                                   checkpoint='data/weights/dinov2_vitl14_pretrain.pth',
                                   input_size=(224, 448), after_norm=False))),
    loss=dict(type='NormalizedL2Loss', loss_weight=1.0))
