# SLidR with the point-wise MinkUNet-34 student of the LiDAR segmentation model (SLidR's own
# student family); method parts as slidr_centerpoint_model.py.
_base_ = ['../../_base_/models/image2lidar_minkunet_model.py']
model = dict(
    type='SLidR',
    point_head=dict(type='PointProjectionHead', in_channels={{_base_.image2lidar_point_channels}},
                    out_channels=64),
    image_head=dict(type='PixelProjectionHead', in_channels=384, out_channels=64),
    pool_size=None,
    loss=dict(type='InfoNCELoss', temperature=0.07, loss_weight=1.0, normalize=False))
