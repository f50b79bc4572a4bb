# BEVDet (camera only) at the BEVDet-Tiny settings of the paper (Table 1): Swin-T, 256x704
# images, neck over the 1/16 and 1/32 maps -> 512 ch at 1/16, LSS 1-60 m in 1 m bins, 64 ch,
# 0.8 m BEV cells over [-51.2, 51.2] m (128 x 128), CenterHead. The BEV encoder is SECOND +
# SECONDFPN (deviation, see README). Literal values only, so it merges with any dataset base.
_base_ = ['../../../../configs/_base_/models/centerhead_nus_model.py']
custom_imports = dict(
    imports=['projects.BEVFusion.bevfusion', 'projects.BEVDet.bevdet'], allow_failed_imports=False
)
model = dict(
    type='BEVDet',
    data_preprocessor=dict(
        type='mmdet3d.Det3DDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32,
    ),
    img_backbone=dict(
        type='mmdet.SwinTransformer',
        embed_dims=96,
        depths=[2, 2, 6, 2],
        num_heads=[3, 6, 12, 24],
        window_size=7,
        mlp_ratio=4,
        qkv_bias=True,
        drop_path_rate=0.2,
        patch_norm=True,
        out_indices=[2, 3],
        with_cp=False,
        convert_weights=False,
        init_cfg=None,
    ),
    img_neck=dict(type='GeneralizedLSSFPN', in_channels=[384, 768], out_channels=512),
    view_transform=dict(
        type='LSSViewTransform',
        in_channels=512,
        out_channels=64,
        image_size=[256, 704],
        feature_size=[16, 44],
        xbound=[-51.2, 51.2, 0.8],
        ybound=[-51.2, 51.2, 0.8],
        zbound=[-10.0, 10.0, 20.0],
        dbound=[1.0, 60.0, 1.0],
        downsample=1,
    ),
    pts_backbone=dict(
        type='mmdet3d.SECOND',
        in_channels=64,
        out_channels=[128, 256, 512],
        layer_nums=[2, 2, 2],
        layer_strides=[2, 2, 2],
        norm_cfg=dict(type='BN', eps=1e-3, momentum=0.01),
        conv_cfg=dict(type='Conv2d', bias=False),
    ),
    pts_neck=dict(
        type='mmdet3d.SECONDFPN',
        in_channels=[128, 256, 512],
        out_channels=[128, 128, 128],
        upsample_strides=[2, 4, 8],
        norm_cfg=dict(type='BN', eps=1e-3, momentum=0.01),
        upsample_cfg=dict(type='deconv', bias=False),
        use_conv_for_no_stride=True,
    ),
    # CenterHead of configs/_base_/models/centerhead_nus_model.py on this 0.8 m / 128 x 128 BEV grid
    # (target grid 0.1 m x stride 8).
    bbox_head=dict(in_channels=384, bbox_coder=dict(pc_range=[-51.2, -51.2], voxel_size=[0.1, 0.1])),
    # Fine-tuning from a camera pre-training checkpoint: set init_from.checkpoint. The BEV encoder
    # is taken too when the checkpoint has it (OccFeat pre-trains it; NS-MAE does not).
    init_from=dict(
        checkpoint=None,
        prefix_map={
            'img_backbone.': 'img_backbone.',
            'img_neck.': 'img_neck.',
            'view_transform.': 'view_transform.',
            'pts_backbone.': 'pts_backbone.',
            'pts_neck.': 'pts_neck.',
        },
        strict=False,
    ),
    train_cfg=dict(
        pts=dict(
            point_cloud_range=[-51.2, -51.2, -5.0, 51.2, 51.2, 3.0],
            grid_size=[1024, 1024, 40],
            voxel_size=[0.1, 0.1, 0.2],
        )
    ),
    test_cfg=dict(pts=dict(pc_range=[-51.2, -51.2], voxel_size=[0.1, 0.1])),
)
