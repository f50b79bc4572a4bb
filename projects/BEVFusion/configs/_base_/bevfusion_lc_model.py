# BEVFusion camera + LiDAR model at the published nuScenes settings (Liu et al. 2023; the
# released convfuser config): Swin-T + GeneralizedLSSFPN (256), LSS with LiDAR depth input
# (1-60 m, 0.5 m bins, 0.3 m camera cells downsampled x2 to 0.6 m), 0.075 x 0.075 x 0.2 m voxels
# over [-54, 54]^2 x [-5, 3] m, sparse encoder -> 128 x 2 z, ConvFuser 80 + 256 -> 256,
# SECOND + SECONDFPN, CenterHead (configs/_base_/models/centerhead_nus_model.py; the paper's TransFusion
# head is not used: see README). Only `model`/`custom_imports` here (literal values), so this
# merges with any dataset base.
_base_ = ['../../../../configs/_base_/models/centerhead_nus_model.py']
custom_imports = dict(imports=['projects.BEVFusion.bevfusion'], allow_failed_imports=False)
model = dict(
    type='BEVFusion',
    data_preprocessor=dict(
        type='TorchVoxelDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,  # mmcv loads BGR; mean/std are RGB
        pad_size_divisor=32,
        voxel=True,
        voxel_type='hard',
        voxel_layer=dict(
            max_num_points=10,
            point_cloud_range=[-54.0, -54.0, -5.0, 54.0, 54.0, 3.0],
            voxel_size=[0.075, 0.075, 0.2],
            max_voxels=[120000, 160000],
        ),
    ),
    # No init_cfg: weights come from a local checkpoint (fine-tune `init_from`), never a URL.
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
        out_indices=[1, 2, 3],
        with_cp=False,
        convert_weights=False,
        init_cfg=None,
    ),
    img_neck=dict(type='GeneralizedLSSFPN', in_channels=[192, 384, 768], out_channels=256),
    view_transform=dict(
        type='LSSViewTransform',
        in_channels=256,
        out_channels=80,
        image_size=[256, 704],
        feature_size=[32, 88],
        xbound=[-54.0, 54.0, 0.3],
        ybound=[-54.0, 54.0, 0.3],
        zbound=[-10.0, 10.0, 20.0],
        dbound=[1.0, 60.0, 0.5],
        downsample=2,
        depth_input=True,
        depth_channels=64,
    ),
    pts_voxel_encoder=dict(type='mmdet3d.HardSimpleVFE', num_features=5),
    pts_middle_encoder=dict(
        type='mmdet3d.SparseEncoder',
        in_channels=5,
        sparse_shape=[41, 1440, 1440],
        output_channels=128,
        order=('conv', 'norm', 'act'),
        encoder_channels=((16, 16, 32), (32, 32, 64), (64, 64, 128), (128, 128)),
        # Paddings in (z, y, x) order (MMDet3D), so x and y reach 1440 / 8 = 180 exactly.
        encoder_paddings=((0, 0, 1), (0, 0, 1), (0, 0, (0, 1, 1)), (0, 0)),
        block_type='basicblock',
    ),
    fusion_layer=dict(type='ConvFuser', in_channels=[80, 256], out_channels=256),
    pts_backbone=dict(
        type='mmdet3d.SECOND',
        in_channels=256,
        out_channels=[128, 256],
        layer_nums=[5, 5],
        layer_strides=[1, 2],
        norm_cfg=dict(type='BN', eps=1e-3, momentum=0.01),
        conv_cfg=dict(type='Conv2d', bias=False),
    ),
    pts_neck=dict(
        type='mmdet3d.SECONDFPN',
        in_channels=[128, 256],
        out_channels=[256, 256],
        upsample_strides=[1, 2],
        norm_cfg=dict(type='BN', eps=1e-3, momentum=0.01),
        upsample_cfg=dict(type='deconv', bias=False),
        use_conv_for_no_stride=True,
    ),
    seg_head=None,
    # Fine-tuning from pre-training: set init_from.checkpoint (e.g. with
    # `--cfg-options model.init_from.checkpoint=work_dirs/nsmae/iter_N.pth`). NS-MAE's encoders
    # carry the detector's names; its render head and the fuser are not transferred
    # (METHOD_FACTS 1, "Handover").
    init_from=dict(
        checkpoint=None,
        prefix_map={
            'img_backbone.': 'img_backbone.',
            'img_neck.': 'img_neck.',
            'view_transform.': 'view_transform.',
            'pts_voxel_encoder.': 'pts_voxel_encoder.',
            'pts_middle_encoder.': 'pts_middle_encoder.',
        },
        strict=False,
    ),
)
