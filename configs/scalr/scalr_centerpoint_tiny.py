# Tiny ScaLR / CenterPoint on the synthetic world (CPU): the encoders of
# projects/CenterPoint/configs/centerpoint_tiny_synthetic.py; a randomly initialised DINOv2 ViT-S/14
# teacher at 126x224 (pre-norm tokens; `python tools/make_random_teacher.py CONFIG` writes it, the
# same file as the other tiny frozen-teacher configs) instead of the ViT-L/14; AdamW 1e-3.
_base_ = [
    '../_base_/datasets/synthetic_nus_image2lidar_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_iter.py',
    './_base_/scalr_centerpoint_model.py',
]
downstream_config = 'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py'
scalr_pcr = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]
scalr_teacher_file = 'data/weights/dinov2_vits14_random_seed0.pth'
random_teacher_weights = dict(arch='vit_small_patch14_dinov2', seed=0, checkpoint=scalr_teacher_file)
model = dict(
    data_preprocessor=dict(
        _delete_=True,
        type='TorchVoxelDataPreprocessor',
        voxel=True,
        voxel_layer=dict(
            max_num_points=10,
            voxel_size=[0.2, 0.2, 0.4],
            max_voxels=(40000, 40000),
            point_cloud_range=scalr_pcr,
        ),
    ),
    pts_middle_encoder=dict(
        _delete_=True,
        type='mmdet3d.SparseEncoder',
        in_channels=5,
        sparse_shape=[21, 512, 256],
        output_channels=32,
        order=('conv', 'norm', 'act'),
        encoder_channels=((8, 16), (16, 32), (32,)),
        encoder_paddings=((0, 1), (0, [0, 1, 1]), (0,)),
        block_type='basicblock',
        base_channels=8,
    ),
    point_cloud_range=scalr_pcr,
    point_head=dict(in_channels=64, out_channels=384),
    target_generator=dict(
        features=dict(
            teacher=dict(
                arch='vit_small_patch14_dinov2',
                checkpoint=scalr_teacher_file,
                input_size=(126, 224),
                dtype='fp32',
            )
        )
    ),
)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(type='CheckpointHook', interval={{_base_.max_iters}}, by_epoch=False),
)
log_processor = dict(by_epoch=False)
