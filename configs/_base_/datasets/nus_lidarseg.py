# nuScenes LiDAR semantic segmentation (lidarseg) over the nuScenes-format info files: each
# keyframe's points (`lidar_points.lidar_path`, x, y, z, intensity of the 5 stored values) and
# their labels (the info's top-level `pts_semantic_mask_path`: uint8, one official lidarseg index
# 0-31 per point), mapped to the 16 challenge classes; ignore index 16 (MMDet3D's convention,
# len(classes)). Augmentation as MMDet3D's MinkUNet configs: global rotation about z (full
# circle), scaling 0.95-1.05, no translation; plus both BEV flips (SLidR / ScaLR). No range filter:
# MinkUNet's voxeliser takes every point. Evaluation: MMDet3D's SegMetric (per-class IoU, mIoU,
# accuracy) over every point of the validation keyframes.
dataset_type = 'NuScenesSegDataset'
data_root = 'data/nuscenes/'
class_names = [
    'barrier',
    'bicycle',
    'bus',
    'car',
    'construction_vehicle',
    'motorcycle',
    'pedestrian',
    'traffic_cone',
    'trailer',
    'truck',
    'driveable_surface',
    'other_flat',
    'sidewalk',
    'terrain',
    'manmade',
    'vegetation',
]
metainfo = dict(classes=class_names)
input_modality = dict(use_lidar=True, use_camera=False)
# label files: lidarseg/<version>/<token>_lidarseg.bin, the version from the info file's metainfo
data_prefix = dict(pts='samples/LIDAR_TOP', pts_semantic_mask='lidarseg/{version}')
backend_args = None

train_pipeline = [
    dict(
        type='mmdet3d.LoadPointsFromFile',
        coord_type='LIDAR',
        load_dim=5,
        use_dim=4,
        backend_args=backend_args,
    ),
    dict(
        type='mmdet3d.LoadAnnotations3D',
        with_bbox_3d=False,
        with_label_3d=False,
        with_seg_3d=True,
        seg_3d_dtype='np.uint8',
        backend_args=backend_args,
    ),
    dict(type='mmdet3d.PointSegClassMapping'),
    dict(
        type='mmdet3d.GlobalRotScaleTrans',
        rot_range=[-3.1415926, 3.1415926],
        scale_ratio_range=[0.95, 1.05],
        translation_std=[0, 0, 0],
    ),
    dict(
        type='mmdet3d.RandomFlip3D', sync_2d=False, flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5
    ),
    dict(type='mmdet3d.Pack3DDetInputs', keys=['points', 'pts_semantic_mask']),
]
# The labels are loaded for the metric only (`eval_ann_info`), not packed for the model.
test_pipeline = [
    dict(
        type='mmdet3d.LoadPointsFromFile',
        coord_type='LIDAR',
        load_dim=5,
        use_dim=4,
        backend_args=backend_args,
    ),
    dict(
        type='mmdet3d.LoadAnnotations3D',
        with_bbox_3d=False,
        with_label_3d=False,
        with_seg_3d=True,
        seg_3d_dtype='np.uint8',
        backend_args=backend_args,
    ),
    dict(type='mmdet3d.PointSegClassMapping'),
    dict(type='mmdet3d.Pack3DDetInputs', keys=['points']),
]
_lidarseg_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    metainfo=metainfo,
    modality=input_modality,
    data_prefix=data_prefix,
    backend_args=backend_args,
)
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        _lidarseg_dataset, ann_file='nuscenes_infos_train.pkl', pipeline=train_pipeline, test_mode=False
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        _lidarseg_dataset, ann_file='nuscenes_infos_val.pkl', pipeline=test_pipeline, test_mode=True
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='mmdet3d.SegMetric')
test_evaluator = val_evaluator
