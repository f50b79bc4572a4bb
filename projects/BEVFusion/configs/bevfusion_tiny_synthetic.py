# Tiny BEVFusion (camera + LiDAR) for CPU tests and the synthetic world: same structure as the
# published model, small sizes: 128x352 images, ResNet-18 at 1/8 width (random init), 0.45 m
# voxels, 3.6 m BEV cells (30 x 30 over [-54, 54] m), 30 depth bins of 2 m, CenterHead and a
# box-rasterised BEV segmentation head. Iteration-based schedule (adamw_iter: AdamW 1e-4, wd 0.01,
# clip 35), so every label fraction trains for the same number of iterations.
_base_ = [
    '../../../configs/_base_/datasets/synthetic_nus_det.py',
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/adamw_iter.py',
    './_base_/bevfusion_lc_model.py',
]
train_dataloader = dict(batch_size=1)

val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval={{_base_.max_iters}}, by_epoch=False))
log_processor = dict(by_epoch=False)

point_cloud_range = [-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]
# Encoder layer sizes equal NS-MAE's tiny pre-training model (configs/_base_/models/
# nsmae_bevfusion_tiny.py), so its checkpoint initialises this detector (`model.init_from`);
# grids may differ (weights do not depend on them): 0.45 m voxels and 1.8 m camera cells give
# an even 30 x 30 BEV map (3.6 m cells), which SECOND's stride-2 stage and SECONDFPN need.
voxel_size = [0.45, 0.45, 0.2]
out_size_factor = 8  # 240 voxels / 8 = 30 BEV cells
image_size = [128, 352]
model = dict(
    data_preprocessor=dict(
        voxel_layer=dict(max_num_points=5, voxel_size=voxel_size, max_voxels=[40000, 40000])
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
        xbound=[-54.0, 54.0, 1.8],
        ybound=[-54.0, 54.0, 1.8],
        dbound=[1.0, 60.0, 2.0],
        downsample=2,
        depth_input=True,
        depth_channels=8,
    ),
    pts_middle_encoder=dict(
        sparse_shape=[41, 240, 240],
        output_channels=32,
        base_channels=8,
        encoder_channels=((8, 8, 16), (16, 16, 32), (32, 32, 32), (32, 32)),
    ),
    fusion_layer=dict(in_channels=[16, 64], out_channels=64),
    pts_backbone=dict(in_channels=64, out_channels=[32, 64], layer_nums=[1, 1]),
    pts_neck=dict(in_channels=[32, 64], out_channels=[32, 32]),
    bbox_head=dict(
        in_channels=64,
        share_conv_channel=16,
        bbox_coder=dict(max_num=100, out_size_factor=out_size_factor, voxel_size=voxel_size[:2]),
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
        input_range=[-54.0, -54.0, 54.0, 54.0],
        xbound=[-50.0, 50.0, 2.0],
        ybound=[-50.0, 50.0, 2.0],
        channels=16,
        num_convs=1,
    ),
    train_cfg=dict(
        pts=dict(
            grid_size=[240, 240, 40], voxel_size=voxel_size, out_size_factor=out_size_factor, max_objs=200
        )
    ),
    test_cfg=dict(
        pts=dict(
            max_per_img=100,
            out_size_factor=out_size_factor,
            voxel_size=voxel_size[:2],
            pre_max_size=200,
            post_max_size=50,
        )
    ),
)
