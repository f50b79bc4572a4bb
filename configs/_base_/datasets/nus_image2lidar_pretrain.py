# nuScenes image-to-LiDAR distillation data (PPKT, SLidR, ScaLR on CenterPoint): the LiDAR of
# nus_lidar_pretrain.py (the keyframe + 9 sweeps, the label-free augmentation) and the six camera
# images, un-augmented: only the frozen teacher sees them, through its feature cache
# (tools/cache_teacher_features.py) or live (then set keep_ori_img=True below). The points are
# paired with pixels in the model with the un-augmented calibration (ori_lidar2img, with the LiDAR
# augmentation undone), so the cache serves every augmented epoch. Only keyframe points pair
# (the model's keyframe_time_dim): the cameras see the keyframe.
_base_ = ['./nus_lidar_pretrain.py']
camera_names = [
    'CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK', 'CAM_BACK_LEFT',
    'CAM_BACK_RIGHT'
]
input_modality = dict(use_lidar=True, use_camera=True)
data_prefix = dict(
    pts='samples/LIDAR_TOP',
    sweeps='sweeps/LIDAR_TOP',
    CAM_FRONT='samples/CAM_FRONT',
    CAM_FRONT_LEFT='samples/CAM_FRONT_LEFT',
    CAM_FRONT_RIGHT='samples/CAM_FRONT_RIGHT',
    CAM_BACK='samples/CAM_BACK',
    CAM_BACK_RIGHT='samples/CAM_BACK_RIGHT',
    CAM_BACK_LEFT='samples/CAM_BACK_LEFT')
train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5,
         backend_args={{_base_.backend_args}}),
    dict(type='LoadSSLPointsFromMultiSweeps', sweeps_num={{_base_.num_sweeps}}, load_dim=5,
         use_dim=[0, 1, 2, 3, 4], pad_empty_sweeps=True, remove_close=True,
         backend_args={{_base_.backend_args}}),
    dict(type='LoadSSLMultiViewImages', camera_names=camera_names, backend_args={{_base_.backend_args}}),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-0.3925, 0.3925],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='SSLPointsRangeFilter', point_cloud_range={{_base_.point_cloud_range}}),
    dict(type='mmdet3d.PointShuffle'),
    dict(type='PackSSLInputs', keys=['points']),
]
train_dataloader = dict(
    dataset=dict(pipeline=train_pipeline, modality=input_modality, data_prefix=data_prefix))
