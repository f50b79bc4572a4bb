# nuScenes 3D detection data (labelled), multimodal: LiDAR (9 sweeps) + 6 cameras at 256x704,
# BEVFusion-style augmentation with exact calibration (as in nus_pretrain.py); NuScenesMetric
# evaluation. Model configs override the variables below and re-declare pipelines they change.
dataset_type = 'NuScenesSSLDataset'
data_root = 'data/nuscenes/'
# MMDet3D's nuScenes class order, which is also the flattened task order of CenterHead
# (configs/_base_/models/centerhead_nus_model.py): a label index means the same class to both.
class_names = [
    'car', 'truck', 'construction_vehicle', 'bus', 'trailer', 'barrier', 'motorcycle',
    'bicycle', 'pedestrian', 'traffic_cone'
]
metainfo = dict(classes=class_names)
point_cloud_range = [-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]
voxel_size = [0.075, 0.075, 0.2]
image_size = [256, 704]  # (H, W) network input
img_resize_lim = [0.38, 0.55]
img_resize_test = [0.48, 0.48]
img_rot_lim = [-5.4, 5.4]
num_sweeps = 9
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
backend_args = None

train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
    dict(type='LoadSSLPointsFromMultiSweeps', sweeps_num=num_sweeps, load_dim=5,
         use_dim=[0, 1, 2, 3, 4], pad_empty_sweeps=True, remove_close=True),
    dict(type='LoadSSLMultiViewImages', camera_names=camera_names),
    dict(type='mmdet3d.LoadAnnotations3D', with_bbox_3d=True, with_label_3d=True,
         with_attr_label=False),
    dict(type='ImageAug3D', final_dim=image_size, resize_lim=img_resize_lim,
         bot_pct_lim=[0.0, 0.0], rot_lim=img_rot_lim, rand_flip=True, is_train=True),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-0.78539816, 0.78539816],
         scale_ratio_range=[0.9, 1.1], translation_std=0.5),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='SSLPointsRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='mmdet3d.ObjectRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='mmdet3d.ObjectNameFilter', classes=class_names),
    dict(type='mmdet3d.PointShuffle'),
    dict(type='PackSSLInputs', keys=['points', 'img', 'gt_bboxes_3d', 'gt_labels_3d']),
]
test_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
    dict(type='LoadSSLPointsFromMultiSweeps', sweeps_num=num_sweeps, load_dim=5,
         use_dim=[0, 1, 2, 3, 4], pad_empty_sweeps=True, remove_close=True, test_mode=True),
    dict(type='LoadSSLMultiViewImages', camera_names=camera_names),
    dict(type='ImageAug3D', final_dim=image_size, resize_lim=img_resize_test,
         bot_pct_lim=[0.0, 0.0], rot_lim=[0.0, 0.0], rand_flip=False, is_train=False),
    dict(type='SSLPointsRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='PackSSLInputs', keys=['points', 'img']),
]

train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='nuscenes_infos_train.pkl',
        pipeline=train_pipeline,
        metainfo=metainfo,
        modality=input_modality,
        data_prefix=data_prefix,
        camera_names=camera_names,
        with_label=True,
        filter_empty_gt=True,
        test_mode=False,
        box_type_3d='LiDAR',
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='nuscenes_infos_val.pkl',
        pipeline=test_pipeline,
        metainfo=metainfo,
        modality=input_modality,
        data_prefix=data_prefix,
        camera_names=camera_names,
        with_label=True,
        test_mode=True,
        box_type_3d='LiDAR',
        backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='NuScenesMetric',  # mmssl's: MMDet3D's, plus empty results scored (mAP = NDS = 0)
    data_root=data_root,
    ann_file=data_root + 'nuscenes_infos_val.pkl',
    metric='bbox',
    backend_args=backend_args)
test_evaluator = val_evaluator
