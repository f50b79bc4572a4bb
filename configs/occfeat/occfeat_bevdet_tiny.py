# Tiny OccFeat / BEVDet on the synthetic world (CPU). Encoders equal those of
# projects/BEVDet/configs/bevdet_tiny_synthetic.py (checked by
# tests/test_models/test_algorithms/test_occfeat.py): ResNet-18 at 1/8 width, 128x352 images,
# LSS to 0.8 m cells downsampled x2, SECOND + SECONDFPN -> a 64-channel 32 x 64 BEV of 1.6 m cells
# over [-25.6, 25.6] x [-51.2, 51.2] m; the voxel grid adds 8 levels of 1 m over [-5, 3] m.
# Teacher: DINOv2 ViT-S/14 at 126x224 (the world's 180x320 renders, aspect kept). No pretrained
# weights exist on the CPU machine (nothing is downloaded), so this config names a RANDOMLY
# INITIALISED ViT-S/14 written by `python tools/make_random_teacher.py CONFIG` (seed 0; the
# label-efficiency harness writes it when missing and records it). With the official file, set
# model.target_generator.features.teacher.checkpoint=data/weights/dinov2_vits14_pretrain.pth.
# The teacher runs in fp32 on the CPU (fp16 is a GPU setting; the cache stores fp16 either way).
# Schedule: the paper's Adam at a constant 1e-3 (wd 1e-7), iteration-based.
_base_ = [
    '../_base_/datasets/synthetic_nus_occ_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adamw_iter.py',
    './_base_/occfeat_bevdet_model.py',
]
downstream_config = 'projects/BEVDet/configs/bevdet_tiny_synthetic.py'
occfeat_pcr = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]
occfeat_teacher_file = 'data/weights/dinov2_vits14_random_seed0.pth'
# read by tools/make_random_teacher.py and the label-efficiency harness
random_teacher_weights = dict(arch='vit_small_patch14_dinov2', seed=0, checkpoint=occfeat_teacher_file)
model = dict(
    img_backbone=dict(
        _delete_=True, type='mmdet.ResNet', depth=18, base_channels=8, stem_channels=8,
        num_stages=4, out_indices=(1, 2, 3), frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False, style='pytorch',
        init_cfg=None),
    img_neck=dict(in_channels=[16, 32, 64], out_channels=32),
    view_transform=dict(
        in_channels=32, out_channels=16, image_size=[128, 352], feature_size=[16, 44],
        xbound=[-25.6, 25.6, 0.8], ybound=[-51.2, 51.2, 0.8], dbound=[1.0, 60.0, 2.0],
        downsample=2),
    pts_backbone=dict(in_channels=16, out_channels=[32, 64], layer_nums=[1, 1], layer_strides=[1, 2]),
    pts_neck=dict(in_channels=[32, 64], out_channels=[32, 32], upsample_strides=[1, 2]),
    point_cloud_range=occfeat_pcr,
    head=dict(in_channels=64),
    target_generator=dict(
        features=dict(teacher=dict(checkpoint=occfeat_teacher_file, input_size=(126, 224), dtype='fp32'))))
optim_wrapper = dict(optimizer=dict(_delete_=True, type='Adam', lr=1e-3, weight_decay=1e-7))
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(type='CheckpointHook', interval={{_base_.max_iters}}, by_epoch=False))
log_processor = dict(by_epoch=False)
