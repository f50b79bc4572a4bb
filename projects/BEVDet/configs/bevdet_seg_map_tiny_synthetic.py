# Tiny BEVDet (camera only) for BEV segmentation of the synthetic world's map layers and vehicles:
# the tiny BEVDet encoders without the CenterHead, BEVFusion's BEVSegHead on the 64-channel BEV
# map (BEVDet subclasses BEVFusion, which takes a seg_head), and the map targets, grid and
# metric of projects/BEVFusion/configs/bevfusion_seg_map_tiny_synthetic.py: vehicle (boxes),
# drivable_area, carpark_area, walkway, divider on a 1 m grid over [-25, 25] x [-50, 50] m from
# the world's road frames (maps/road_frames.json; old worlds: tools/add_map_layers.py).
# The pipelines equal that config's (tests/test_projects/test_bevdet.py checks it).
_base_ = ['./bevdet_tiny_synthetic.py']

seg_classes = ['vehicle', 'drivable_area', 'carpark_area', 'walkway', 'divider']
seg_class_groups = dict(
    vehicle=['car', 'truck', 'construction_vehicle', 'bus', 'trailer', 'motorcycle', 'bicycle']
)
seg_xbound = [-25.0, 25.0, 1.0]
seg_ybound = [-50.0, 50.0, 1.0]
map_targets = dict(
    type='LoadBEVMapSegmentation',
    classes=seg_classes,
    class_groups=seg_class_groups,
    dataset_classes={{_base_.class_names}},
    xbound=seg_xbound,
    ybound=seg_ybound,
    divider_width=1.0,
)
point_cloud_range = {{_base_.point_cloud_range}}
camera_names = {{_base_.camera_names}}
image_size = {{_base_.image_size}}
num_sweeps = {{_base_.num_sweeps}}
train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
    dict(
        type='LoadSSLPointsFromMultiSweeps',
        sweeps_num=num_sweeps,
        load_dim=5,
        use_dim=[0, 1, 2, 3, 4],
        pad_empty_sweeps=True,
        remove_close=True,
    ),
    dict(type='LoadSSLMultiViewImages', camera_names=camera_names),
    dict(type='mmdet3d.LoadAnnotations3D', with_bbox_3d=True, with_label_3d=True, with_attr_label=False),
    dict(
        type='ImageAug3D',
        final_dim=image_size,
        resize_lim={{_base_.img_resize_lim}},
        bot_pct_lim=[0.0, 0.0],
        rot_lim={{_base_.img_rot_lim}},
        rand_flip=True,
        is_train=True,
    ),
    dict(
        type='SSLGlobalRotScaleTrans',
        rot_range=[-0.2618, 0.2618],
        scale_ratio_range=[0.95, 1.05],
        translation_std=[0.2, 0.2, 0.1],
    ),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='SSLPointsRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='mmdet3d.ObjectRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='mmdet3d.ObjectNameFilter', classes={{_base_.class_names}}),
    dict(type='mmdet3d.PointShuffle'),
    map_targets,
    dict(type='PackSSLInputs', keys=['points', 'img', 'gt_bboxes_3d', 'gt_labels_3d', 'gt_bev_seg']),
]
test_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
    dict(
        type='LoadSSLPointsFromMultiSweeps',
        sweeps_num=num_sweeps,
        load_dim=5,
        use_dim=[0, 1, 2, 3, 4],
        pad_empty_sweeps=True,
        remove_close=True,
        test_mode=True,
    ),
    dict(type='LoadSSLMultiViewImages', camera_names=camera_names),
    dict(
        type='ImageAug3D',
        final_dim=image_size,
        resize_lim={{_base_.img_resize_test}},
        bot_pct_lim=[0.0, 0.0],
        rot_lim=[0.0, 0.0],
        rand_flip=False,
        is_train=False,
    ),
    dict(type='SSLPointsRangeFilter', point_cloud_range=point_cloud_range),
    map_targets,
    dict(type='PackSSLInputs', keys=['points', 'img', 'gt_bev_seg']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
model = dict(
    bbox_head=None,
    seg_head=dict(
        type='BEVSegHead',
        in_channels=64,
        classes=seg_classes,
        class_groups=seg_class_groups,
        dataset_classes={{_base_.class_names}},
        input_range=[-25.6, -51.2, 25.6, 51.2],
        xbound=seg_xbound,
        ybound=seg_ybound,
        channels=16,
        num_convs=1,
    ),
)
val_evaluator = dict(
    _delete_=True,
    type='BEVSegMetric',
    classes=seg_classes,
    mean_groups=dict(map_mIoU=seg_classes[1:]),
)
test_evaluator = val_evaluator
