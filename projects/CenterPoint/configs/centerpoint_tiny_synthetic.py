# Tiny CenterPoint (LiDAR only) for CPU tests and the synthetic world: the published structure
# (HardSimpleVFE, SparseEncoder, SECOND + SECONDFPN, CenterHead with the 6 nuScenes tasks) at
# small sizes. Geometry (docs/benchmarks-detectors.md): the synthetic world's objects lie on a
# straight road along the LiDAR y axis, |x| < 15 m, so the range is a 51.2 x 102.4 m rectangle
# ([-25.6, 25.6] x [-51.2, 51.2] m: every class's nuScenes evaluation range along the road, half
# the cells of a square); 0.1 m voxels at stride 8 give 0.8 m BEV cells (64 x 128), about one
# pedestrian or cone wide. 2 sweeps, global rotation/scale/translation and both flips, no
# GT-paste/CBGS (the synthetic world has no dbinfos). Schedule: AdamW with a linear warm-up and
# a cosine decay over the iteration budget. The sparse encoder's layers equal the tiny
# NS-MAE/BEVFusion LiDAR encoder, so those checkpoints load.
_base_ = ['./centerpoint_full_nus.py']

data_root = 'data/synthetic-nuscenes/'
point_cloud_range = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]
voxel_size = [0.2, 0.2, 0.4]
out_size_factor = 4
grid_size = [256, 512, 20]  # (x, y, z) voxels
num_sweeps = 2
post_center_range = [-30.0, -56.0, -10.0, 30.0, 56.0, 10.0]
class_names = [
    'car',
    'truck',
    'construction_vehicle',
    'bus',
    'trailer',
    'barrier',
    'motorcycle',
    'bicycle',
    'pedestrian',
    'traffic_cone',
]
model = dict(
    data_preprocessor=dict(
        voxel_layer=dict(
            max_num_points=10,
            voxel_size=voxel_size,
            point_cloud_range=point_cloud_range,
            max_voxels=(40000, 40000),
        )
    ),
    pts_middle_encoder=dict(
        sparse_shape=[grid_size[2] + 1, grid_size[1], grid_size[0]],
        output_channels=32,
        base_channels=8,
        encoder_channels=((8, 16), (16, 32), (32,)),
        encoder_paddings=((0, 1), (0, [0, 1, 1]), (0,)),
    ),
    pts_backbone=dict(in_channels=64, out_channels=[32, 64], layer_nums=[1, 1]),
    pts_neck=dict(in_channels=[32, 64], out_channels=[32, 32]),
    pts_bbox_head=dict(
        in_channels=64,
        share_conv_channel=32,
        tasks=[dict(num_class=10, class_names=class_names)],
        separate_head=dict(head_conv=32),
        bbox_coder=dict(
            pc_range=point_cloud_range[:2],
            post_center_range=post_center_range,
            max_num=200,
            out_size_factor=out_size_factor,
            voxel_size=voxel_size[:2],
        ),
    ),
    train_cfg=dict(
        pts=dict(
            grid_size=grid_size,
            voxel_size=voxel_size,
            point_cloud_range=point_cloud_range,
            out_size_factor=out_size_factor,
            max_objs=200,
        )
    ),
    test_cfg=dict(
        pts=dict(
            pc_range=point_cloud_range[:2],
            post_center_limit_range=post_center_range,
            nms_type='rotate',
            min_radius=[1.0],
            out_size_factor=out_size_factor,
            voxel_size=voxel_size[:2],
            max_per_img=200,
            pre_max_size=500,
            post_max_size=100,
        )
    ),
)

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
    dict(type='mmdet3d.LoadAnnotations3D', with_bbox_3d=True, with_label_3d=True),
    dict(
        type='SSLGlobalRotScaleTrans',
        rot_range=[-0.2618, 0.2618],
        scale_ratio_range=[0.95, 1.05],
        translation_std=[0.2, 0.2, 0.1],
    ),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='SSLPointsRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='mmdet3d.ObjectRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='mmdet3d.ObjectNameFilter', classes=class_names),
    dict(type='mmdet3d.PointShuffle'),
    dict(type='PackSSLInputs', keys=['points', 'gt_bboxes_3d', 'gt_labels_3d']),
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
    dict(type='SSLPointsRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='PackSSLInputs', keys=['points']),
]
_dataset = dict(
    type='mmssl.NuScenesSSLDataset',
    data_root=data_root,
    metainfo=dict(classes=class_names),
    modality=dict(use_lidar=True, use_camera=False),
    data_prefix=dict(pts='samples/LIDAR_TOP', sweeps='sweeps/LIDAR_TOP'),
    box_type_3d='LiDAR',
    with_label=True,
)
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    # no epoch transitions: MMEngine's IterBasedTrainLoop sleeps 2 s at each (a one-scene split
    # has one every 2 iterations)
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _dataset,
        ann_file='nuscenes_infos_train.pkl',
        pipeline=train_pipeline,
        filter_empty_gt=True,
        test_mode=False,
    ),
)
val_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_dataset, ann_file='nuscenes_infos_val.pkl', pipeline=test_pipeline, test_mode=True),
)
test_dataloader = val_dataloader
val_evaluator = dict(data_root=data_root, ann_file=data_root + 'nuscenes_infos_val.pkl')
test_evaluator = val_evaluator

# AdamW with a linear warm-up over 30 iterations from lr / 25 and a cosine decay to lr / 1e3 over
# the whole budget (the two multiply). The cosine has no `end`: MMEngine ends it at
# `train_cfg.max_iters`, so `--cfg-options train_cfg.max_iters=N` rescales the schedule.
# (MMEngine's OneCycleLR would do the same but pickles a bound method into every checkpoint,
# which `torch.load(weights_only=True)` refuses: tools/test.py and --resume could not load it.)
# lr 5e-3 from a sweep (docs/benchmarks-detectors.md). beta2 0.99 and clipping at 10 for a short
# schedule: the first ~55 iterations have gradient norms of 100-1000 (the randomly initialised
# heatmap logits), and with beta2 = 0.999 Adam's second moment remembers them for the whole
# run, so every later step would be several times smaller than `lr`.
max_iters = 100
lr = 5e-3
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.99), weight_decay=0.01),
    clip_grad=dict(max_norm=10, norm_type=2),
)
param_scheduler = [  # a list replaces the base's list whole
    dict(type='LinearLR', start_factor=0.04, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', eta_min_ratio=1e-3, by_epoch=False, begin=0),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters, by_epoch=False))
log_processor = dict(by_epoch=False)
