# nuScenes LiDAR-only self-supervised pre-training data (AD-L-JEPA, Occupancy-MAE, BEV-MAE on
# CenterPoint): 9 sweeps + the keyframe (CenterPoint's 10), no images, no labels
# (NuScenesSSLDataset(with_label=False) checks the pipeline is label-free: no GT-paste, no CBGS,
# which the official OpenPCDet pre-training configs of all three methods keep on, METHOD_FACTS 3,
# 5, 6). Augmentation: the label-free part of MMDet3D's nuScenes CenterPoint pipeline (rotation
# U(-pi/8, pi/8), scale U(0.95, 1.05), flips in x and y). Masks are drawn by the model's masker.
dataset_type = 'NuScenesSSLDataset'
data_root = 'data/nuscenes/'
class_names = [
    'car', 'truck', 'trailer', 'bus', 'construction_vehicle', 'bicycle', 'motorcycle',
    'pedestrian', 'traffic_cone', 'barrier'
]
metainfo = dict(classes=class_names)
point_cloud_range = [-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]
num_sweeps = 9
input_modality = dict(use_lidar=True, use_camera=False)
data_prefix = dict(pts='samples/LIDAR_TOP', sweeps='sweeps/LIDAR_TOP')
backend_args = None

train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5,
         backend_args=backend_args),
    dict(type='LoadSSLPointsFromMultiSweeps', sweeps_num=num_sweeps, load_dim=5,
         use_dim=[0, 1, 2, 3, 4], pad_empty_sweeps=True, remove_close=True,
         backend_args=backend_args),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-0.3925, 0.3925],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='SSLPointsRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='mmdet3d.PointShuffle'),
    dict(type='PackSSLInputs', keys=['points']),
]

train_dataloader = dict(
    batch_size=4,
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
        with_label=False,
        bad_sample='raise',
        test_mode=False,
        box_type_3d='LiDAR',
        backend_args=backend_args))
