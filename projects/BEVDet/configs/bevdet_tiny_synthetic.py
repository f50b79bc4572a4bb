# Tiny BEVDet (camera only) for CPU tests and the synthetic world: 128x352 images, ResNet-18 at
# 1/8 width, 1/8 features (16 x 44), 30 depth bins of 2 m, 0.8 m cells downsampled x2 to a
# 32 x 64 BEV of 1.6 m cells (a 16 x 44 feature cell spans 1.6 m at 25 m) over the tiny
# detectors' rectangle [-25.6, 25.6] x [-51.2, 51.2] m (docs/benchmarks-detectors.md), one
# CenterHead task for the 10 classes. The encoders equal the tiny NS-MAE camera model
# (configs/nsmae/nsmae_bevdet_tiny.py), so its checkpoint initialises them. Schedule: AdamW, 30
# warm-up iterations and a cosine decay over the iteration budget.
_base_ = [
    '../../../configs/_base_/datasets/synthetic_nus_det.py',
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/adamw_iter.py',
    './_base_/bevdet_model.py',
]
point_cloud_range = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]
post_center_range = [-30.0, -56.0, -10.0, 30.0, 56.0, 10.0]
lr = 5e-3
optim_wrapper = dict(optimizer=dict(lr=lr, betas=(0.9, 0.99)), clip_grad=dict(max_norm=10))
param_scheduler = [  # a list replaces the base's list whole
    dict(type='LinearLR', start_factor=0.04, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', eta_min_ratio=1e-3, by_epoch=False, begin=0),
]
# InfiniteSampler: an iteration-based run without epoch transitions (MMEngine's IterBasedTrainLoop
# sleeps 2 s at each; a one-scene split has one every 2 iterations).
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
)
# detection (NuScenesMetric of the dataset base) and BEV segmentation IoU
val_evaluator = [
    {{_base_.val_evaluator}},
    dict(type='BEVSegMetric', classes=['vehicle', 'pedestrian', 'barrier']),
]
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval={{_base_.max_iters}}, by_epoch=False))
log_processor = dict(by_epoch=False)

image_size = [128, 352]
voxel_size = [0.4, 0.4, 0.2]  # CenterHead target grid: 128 x 256 cells / 4 = 32 x 64 = the BEV map
out_size_factor = 4
model = dict(
    img_backbone=dict(
        _delete_=True,
        type='mmdet.ResNet',
        depth=18,
        base_channels=8,
        stem_channels=8,
        num_stages=4,
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None,
    ),
    img_neck=dict(in_channels=[16, 32, 64], out_channels=32),
    view_transform=dict(
        in_channels=32,
        out_channels=16,
        image_size=image_size,
        feature_size=[image_size[0] // 8, image_size[1] // 8],
        xbound=[-25.6, 25.6, 0.8],
        ybound=[-51.2, 51.2, 0.8],
        dbound=[1.0, 60.0, 2.0],
        downsample=2,
    ),
    pts_backbone=dict(in_channels=16, out_channels=[32, 64], layer_nums=[1, 1], layer_strides=[1, 2]),
    pts_neck=dict(in_channels=[32, 64], out_channels=[32, 32], upsample_strides=[1, 2]),
    bbox_head=dict(
        in_channels=64,
        share_conv_channel=32,
        tasks=[dict(num_class=10, class_names={{_base_.class_names}})],
        separate_head=dict(head_conv=32),
        bbox_coder=dict(
            pc_range=point_cloud_range[:2],
            post_center_range=post_center_range,
            max_num=200,
            out_size_factor=out_size_factor,
            voxel_size=voxel_size[:2],
        ),
    ),
    # BEV segmentation beside detection (as the tiny BEVFusion), evaluated by BEVSegMetric: OccFeat's
    # downstream task (vehicle IoU); targets are the boxes rasterised on 2 m cells
    seg_head=dict(
        type='BEVSegHead',
        in_channels=64,
        classes=['vehicle', 'pedestrian', 'barrier'],
        class_groups=dict(
            vehicle=['car', 'truck', 'construction_vehicle', 'bus', 'trailer', 'motorcycle', 'bicycle']
        ),
        dataset_classes={{_base_.class_names}},
        input_range=[-25.6, -51.2, 25.6, 51.2],
        xbound=[-25.0, 25.0, 2.0],
        ybound=[-50.0, 50.0, 2.0],
        channels=16,
        num_convs=1,
    ),
    train_cfg=dict(
        pts=dict(
            point_cloud_range=point_cloud_range,
            grid_size=[128, 256, 40],
            voxel_size=voxel_size,
            out_size_factor=out_size_factor,
            max_objs=200,
        )
    ),
    test_cfg=dict(
        pts=dict(
            pc_range=point_cloud_range[:2],
            post_center_limit_range=post_center_range,
            min_radius=[1.0],
            max_per_img=200,
            out_size_factor=out_size_factor,
            voxel_size=voxel_size[:2],
            pre_max_size=500,
            post_max_size=100,
        )
    ),
)
