# The shared part of the image-to-LiDAR distillation models (PPKT, SLidR, ScaLR) on the CenterPoint
# embedding network: the detector's LiDAR encoders (centerpoint_lidar_encoders_nus_model.py, so the
# checkpoint hands off with an identity prefix map), point features read from the sparse encoder's
# 256-channel BEV (128 x 2 z levels) at each point, keyframe points paired (time lag in column 4),
# and a frozen DINOv2 ViT-S/14 teacher read from its feature cache (cache_root=None runs it live:
# then load the images with keep_ori_img=True). Each method's model fragment sets `type`, the heads
# and the loss, and its own teacher where the paper's differs.
_base_ = ['./centerpoint_lidar_encoders_nus_model.py']
custom_imports = dict(imports=['projects.CenterPoint.centerpoint'], allow_failed_imports=False)
image2lidar_pcr = {{_base_.lidar_pcr}}
image2lidar_bev_channels = 256
model = dict(
    point_cloud_range=image2lidar_pcr,
    min_depth=1.0,
    keyframe_time_dim=4,
    target_generator=dict(
        type='PointFeatureTargets',
        features=dict(
            type='CachedTeacherFeatures', cache_root='data/teacher_cache',
            teacher=dict(type='DINOv2Teacher', arch='vit_small_patch14_dinov2',
                         checkpoint='data/weights/dinov2_vits14_pretrain.pth',
                         input_size=(224, 392), layer=-1, after_norm=True, dtype='fp16',
                         input_range='unit', channel_order='rgb'))))
