# Tiny BEVFusion (camera + LiDAR) for CPU tests and the synthetic world: same structure as the
# published model, small sizes: 128x352 images, ResNet-18 at 1/8 width (random init), LSS over
# 30 depth bins of 2 m with LiDAR depth input, 0.2 x 0.2 x 0.4 m voxels, a 3-stage sparse
# encoder (stride 4), ConvFuser, SECOND + SECONDFPN, one CenterHead task for the 10 classes and
# a box-rasterised BEV segmentation head. BEV: 0.8 m cells (64 x 128) over the rectangle
# [-25.6, 25.6] x [-51.2, 51.2] m, as projects/CenterPoint/configs/centerpoint_tiny_synthetic.py
# (why: docs/benchmarks-detectors.md). Schedule: AdamW, 30 warm-up iterations and a cosine
# decay over the iteration budget, so every label fraction trains for the same iterations.
_base_ = [
    '../../../configs/_base_/datasets/synthetic_nus_det.py',
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/adamw_iter.py',
    './_base_/bevfusion_lc_model.py',
]
point_cloud_range = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]
# Encoder layer sizes equal NS-MAE's tiny pre-training model (configs/_base_/models/
# nsmae_bevfusion_tiny.py), so its checkpoint initialises this detector (`model.init_from`).
voxel_size = [0.2, 0.2, 0.4]
grid_size = [256, 512, 20]  # (x, y, z) voxels
out_size_factor = 4  # 256 x 512 voxels / 4 = 64 x 128 BEV cells of 0.8 m
image_size = [128, 352]
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
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval={{_base_.max_iters}}, by_epoch=False))
log_processor = dict(by_epoch=False)

model = dict(
    data_preprocessor=dict(
        voxel_layer=dict(
            max_num_points=10,
            point_cloud_range=point_cloud_range,
            voxel_size=voxel_size,
            max_voxels=[40000, 40000],
        )
    ),
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
        xbound=[-25.6, 25.6, 0.4],
        ybound=[-51.2, 51.2, 0.4],
        dbound=[1.0, 60.0, 2.0],
        downsample=2,
        depth_input=True,
        depth_channels=8,
    ),
    pts_middle_encoder=dict(
        sparse_shape=[grid_size[2] + 1, grid_size[1], grid_size[0]],
        output_channels=32,
        base_channels=8,
        encoder_channels=((8, 16), (16, 32), (32,)),
        encoder_paddings=((0, 1), (0, [0, 1, 1]), (0,)),
    ),
    fusion_layer=dict(in_channels=[16, 64], out_channels=64),
    pts_backbone=dict(in_channels=64, out_channels=[32, 64], layer_nums=[1, 1]),
    pts_neck=dict(in_channels=[32, 64], out_channels=[32, 32]),
    bbox_head=dict(
        in_channels=64,
        share_conv_channel=32,
        # One task for the 10 classes (CenterPoint groups them in 6): 6 instead of 36 head
        # branches; boxes of this world never overlap, so class-agnostic NMS loses nothing.
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
    seg_head=dict(
        _delete_=True,
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
            grid_size=grid_size,
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
