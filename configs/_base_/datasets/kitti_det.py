# KITTI 3D detection data (labelled, LiDAR-only as MMDet3D's SECOND/PV-RCNN configs), with
# KittiMetric evaluation.
dataset_type = 'KittiSSLDataset'
data_root = 'data/kitti/'
class_names = ['Pedestrian', 'Cyclist', 'Car']
metainfo = dict(classes=class_names)
point_cloud_range = [0.0, -40.0, -3.0, 70.4, 40.0, 1.0]
voxel_size = [0.05, 0.05, 0.1]
input_modality = dict(use_lidar=True, use_camera=False)
data_prefix = dict(pts='training/velodyne_reduced', img='training/image_2')
backend_args = None

train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=4, use_dim=4),
    dict(type='mmdet3d.LoadAnnotations3D', with_bbox_3d=True, with_label_3d=True),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-0.78539816, 0.78539816],
         scale_ratio_range=[0.95, 1.05]),
    dict(type='SSLPointsRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='mmdet3d.ObjectRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='mmdet3d.PointShuffle'),
    dict(type='PackSSLInputs', keys=['points', 'gt_bboxes_3d', 'gt_labels_3d']),
]
test_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=4, use_dim=4),
    dict(type='SSLPointsRangeFilter', point_cloud_range=point_cloud_range),
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
        ann_file='kitti_infos_train.pkl',
        data_prefix=data_prefix,
        pipeline=train_pipeline,
        modality=input_modality,
        metainfo=metainfo,
        with_label=True,
        test_mode=False,
        box_type_3d='LiDAR',
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='kitti_infos_val.pkl',
        data_prefix=data_prefix,
        pipeline=test_pipeline,
        modality=input_modality,
        metainfo=metainfo,
        with_label=True,
        test_mode=True,
        box_type_3d='LiDAR',
        backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='mmdet3d.KittiMetric',
    ann_file=data_root + 'kitti_infos_val.pkl',
    metric='bbox',
    backend_args=backend_args)
test_evaluator = val_evaluator
