# SLidR on the CenterPoint LiDAR encoders (METHOD_FACTS 7): SLIC superpixels of each camera image
# (from the cache of tools/make_superpixels.py, loaded by LoadSuperpixels), superpixel means of the
# 64-d L2-normalised point projections and of the L2-normalised pixel features of a trainable 1x1
# conv on the frozen teacher's map, InfoNCE at tau 0.07 (points -> image, not re-normalised after
# pooling). Teacher: DINOv2 ViT-S/14 (the shared base); the official one is a MoCo-v2 ResNet-50.
_base_ = ['../../_base_/models/image2lidar_centerpoint_model.py']
slidr_teacher_channels = 384
model = dict(
    type='SLidR',
    point_head=dict(type='PointProjectionHead', in_channels={{_base_.image2lidar_bev_channels}},
                    out_channels=64),
    image_head=dict(type='PixelProjectionHead', in_channels=slidr_teacher_channels, out_channels=64),
    pool_size=None,
    loss=dict(type='InfoNCELoss', temperature=0.07, loss_weight=1.0, normalize=False))
