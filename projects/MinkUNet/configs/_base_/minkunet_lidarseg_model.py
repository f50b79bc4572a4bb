# MinkUNet-34 for nuScenes LiDAR segmentation: MMDet3D 1.4's minkunet34_w32 setting
# (mmdet3d::_base_/models/minkunet.py with `encoder_blocks=[2, 3, 4, 6]` and the spconv backend,
# `minkunet34_w32_spconv_8xb2-laser-polar-mix-3x_semantickitti.py`): base 32 channels, encoder
# 32-64-128-256 (2/3/4/6 basic blocks), decoder 256-128-96-96 (2 blocks each), a linear head
# (`decode_head.conv_seg`, 96 -> 16) for the 16 nuScenes lidarseg classes, ignore index 16
# (MMDet3D's convention: len(classes)). Voxels 0.1 m (SLidR's size on nuScenes; MMDet3D uses 0.05 m
# on the denser SemanticKITTI), one point per voxel, all 4 point features (x, y, z, intensity) as
# input. mmssl's two classes: MinkUNet (+ init_from, finetune_strategy) and a voxeliser that runs
# without CUDA (projects/MinkUNet/README.md).
custom_imports = dict(imports=['projects.MinkUNet.minkunet'], allow_failed_imports=False)
lidarseg_num_classes = 16
lidarseg_voxel_size = [0.1, 0.1, 0.1]
model = dict(
    type='mmssl.MinkUNet',
    data_preprocessor=dict(
        type='mmssl.MinkUNetDataPreprocessor',
        voxel=True,
        voxel_type='minkunet',
        batch_first=True,  # coors (batch, x, y, z): the spconv backend's order
        max_voxels=None,  # MMDet3D's minkunet34 configs keep every voxel
        voxel_layer=dict(
            max_num_points=-1,
            point_cloud_range=[-100, -100, -20, 100, 100, 20],  # read only by MMDet3D's other voxel types
            voxel_size=lidarseg_voxel_size,
            max_voxels=(-1, -1),
        ),
    ),
    backbone=dict(
        type='mmdet3d.MinkUNetBackbone',
        in_channels=4,
        num_stages=4,
        base_channels=32,
        encoder_channels=[32, 64, 128, 256],
        encoder_blocks=[2, 3, 4, 6],
        decoder_channels=[256, 128, 96, 96],
        decoder_blocks=[2, 2, 2, 2],
        block_type='basic',
        sparseconv_backend='spconv',
    ),
    decode_head=dict(
        type='mmdet3d.MinkUNetHead',
        channels=96,
        num_classes=lidarseg_num_classes,
        dropout_ratio=0,
        loss_decode=dict(type='mmdet.CrossEntropyLoss', avg_non_ignore=True),
        ignore_index=lidarseg_num_classes,
    ),
    # Fine-tuning from a point-wise pre-training (PPKT / SLidR / ScaLR student with the same
    # MinkUNetBackbone): set the checkpoint; the encoder keys map onto themselves.
    init_from=dict(checkpoint=None, prefix_map={'backbone.': 'backbone.'}, strict=False),
    train_cfg=dict(),
    test_cfg=dict(),
)
