# The image-to-LiDAR distillation models (PPKT, SLidR, ScaLR) with a point-wise student: the LiDAR
# segmentation model's MinkUNet-34 backbone and voxeliser (projects/MinkUNet/configs/_base_/
# minkunet_lidarseg_model.py, so the checkpoint fine-tunes it with the identity map
# 'backbone.' -> 'backbone.'), as SLidR's MinkUNet student; the frozen DINOv2 ViT-S/14 teacher of
# image2lidar_centerpoint_model.py. Each point takes its voxel's 96-channel decoder feature. All
# points pair (single sweep: keyframe_time_dim=None) within the segmentation range.
_base_ = ['../../../projects/MinkUNet/configs/_base_/minkunet_lidarseg_model.py']
image2lidar_point_channels = 96
model = dict(
    _delete_=True,
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    point_cloud_range=[-100.0, -100.0, -20.0, 100.0, 100.0, 20.0],
    min_depth=1.0,
    keyframe_time_dim=None,
    target_generator=dict(
        type='PointFeatureTargets',
        features=dict(
            type='CachedTeacherFeatures', cache_root='data/teacher_cache',
            teacher=dict(type='DINOv2Teacher', arch='vit_small_patch14_dinov2',
                         checkpoint='data/weights/dinov2_vits14_pretrain.pth',
                         input_size=(224, 392), layer=-1, after_norm=True, dtype='fp16',
                         input_range='unit', channel_order='rgb'))))
