# MinkUNet-34 LiDAR semantic segmentation on nuScenes lidarseg (16 classes) at MMDet3D 1.4's
# minkunet34_w32 spconv settings (`minkunet34_w32_spconv_8xb2-laser-polar-mix-3x_semantickitti.py`:
# its model, batch 2 per GPU on 8 GPUs, and `_base_/schedules/schedule-3x.py`: AdamW lr 0.008,
# weight decay 0.01, clipping at 10, 36 epochs with x0.1 at epochs 24 and 32), on nuScenes with
# 0.1 m voxels and without LaserMix / PolarMix (configs/_base_/datasets/nus_lidarseg.py). The
# downstream of the image-to-LiDAR distillation methods (PPKT, SLidR, ScaLR): set
# `model.init_from.checkpoint` to fine-tune a pre-trained `backbone`; the linear probe is
# `minkunet_lidarseg_probe_tiny_synthetic.py`'s `finetune_strategy` (docs/finetuning.md).
_base_ = [
    '../../../configs/_base_/datasets/nus_lidarseg.py',
    '../../../configs/_base_/default_runtime.py',
    './_base_/minkunet_lidarseg_model.py',
]
train_dataloader = dict(batch_size=2)
max_epochs = 36
lr = 0.008
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, weight_decay=0.01),
    clip_grad=dict(max_norm=10, norm_type=2),
    constructor='TrainableOptimWrapperConstructor',  # frozen parameters (probe) stay out
)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[24, 32], gamma=0.1)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# MMDet3D's schedule: 8 GPUs x 2 samples
auto_scale_lr = dict(enable=False, base_batch_size=16)
