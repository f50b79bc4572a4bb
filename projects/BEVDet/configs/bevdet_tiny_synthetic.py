# Tiny BEVDet (camera only) for CPU tests and the synthetic world: 128x352 images, ResNet-18 at
# 1/8 width, 1/8 features (16 x 44), 30 depth bins of 2 m, 1.6 m cells downsampled x2 to a
# 32 x 32 BEV of 3.2 m cells. The encoders equal the tiny NS-MAE camera model
# (configs/nsmae/nsmae_bevdet_tiny.py), so its checkpoint initialises them. Iteration-based schedule.
_base_ = [
    '../../../configs/_base_/datasets/synthetic_nus_det.py',
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/schedules/adamw_iter.py',
    './_base_/bevdet_model.py',
]
train_dataloader = dict(batch_size=1)
optim_wrapper = dict(optimizer=dict(lr=2e-4))
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval={{_base_.max_iters}}, by_epoch=False))
log_processor = dict(by_epoch=False)

image_size = [128, 352]
voxel_size = [0.8, 0.8, 0.2]  # CenterHead target grid: 128 cells / 4 = 32 = the BEV map
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
        xbound=[-51.2, 51.2, 1.6],
        ybound=[-51.2, 51.2, 1.6],
        dbound=[1.0, 60.0, 2.0],
        downsample=2,
    ),
    pts_backbone=dict(in_channels=16, out_channels=[32, 64], layer_nums=[1, 1], layer_strides=[1, 2]),
    pts_neck=dict(in_channels=[32, 64], out_channels=[32, 32], upsample_strides=[1, 2]),
    bbox_head=dict(
        in_channels=64,
        share_conv_channel=16,
        bbox_coder=dict(max_num=100, out_size_factor=out_size_factor, voxel_size=voxel_size[:2]),
    ),
    train_cfg=dict(
        pts=dict(
            grid_size=[128, 128, 40], voxel_size=voxel_size, out_size_factor=out_size_factor, max_objs=200
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
