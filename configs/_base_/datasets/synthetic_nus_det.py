# nus_det on the synthetic world (data/synthetic-nuscenes/), sized for the CPU: 128x352 images,
# 2 sweeps, and the world's geometry: its objects lie along a straight road on the LiDAR y axis
# within |x| < 15 m, so the detection range is the rectangle [-25.6, 25.6] x [-51.2, 51.2] m
# (every class's nuScenes evaluation distance along the road) and the global rotation is
# +-15 deg (a wider one turns far objects out of the range). See docs/benchmarks-detectors.md.
_base_ = ['./nus_det.py']

data_root = 'data/synthetic-nuscenes/'
image_size = [128, 352]
img_resize_lim = [0.95, 1.375]
img_resize_test = [1.2, 1.2]
num_sweeps = 2
point_cloud_range = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]

train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
    dict(type='LoadSSLPointsFromMultiSweeps', sweeps_num=num_sweeps, load_dim=5,
         use_dim=[0, 1, 2, 3, 4], pad_empty_sweeps=True, remove_close=True),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}}),
    dict(type='mmdet3d.LoadAnnotations3D', with_bbox_3d=True, with_label_3d=True,
         with_attr_label=False),
    dict(type='ImageAug3D', final_dim=image_size, resize_lim=img_resize_lim,
         bot_pct_lim=[0.0, 0.0], rot_lim={{_base_.img_rot_lim}}, rand_flip=True, is_train=True),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-0.2618, 0.2618],
         scale_ratio_range=[0.95, 1.05], translation_std=[0.2, 0.2, 0.1]),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='SSLPointsRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='mmdet3d.ObjectRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='mmdet3d.ObjectNameFilter', classes={{_base_.class_names}}),
    dict(type='mmdet3d.PointShuffle'),
    dict(type='PackSSLInputs', keys=['points', 'img', 'gt_bboxes_3d', 'gt_labels_3d']),
]
test_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
    dict(type='LoadSSLPointsFromMultiSweeps', sweeps_num=num_sweeps, load_dim=5,
         use_dim=[0, 1, 2, 3, 4], pad_empty_sweeps=True, remove_close=True, test_mode=True),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}}),
    dict(type='ImageAug3D', final_dim=image_size, resize_lim=img_resize_test,
         bot_pct_lim=[0.0, 0.0], rot_lim=[0.0, 0.0], rand_flip=False, is_train=False),
    dict(type='SSLPointsRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='PackSSLInputs', keys=['points', 'img']),
]
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(data_root=data_root, ann_file='data/synthetic-nuscenes/nuscenes_infos_val.pkl')
test_evaluator = val_evaluator
