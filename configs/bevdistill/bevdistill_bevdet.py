# BEVDistill (ICLR 2023) at full size on nuScenes: the BEVDet-Tiny camera student
# (projects/BEVDet/configs/bevdet_full_nus.py: Swin-T, 256x704, 0.8 m / 128 x 128 BEV over
# [-51.2, 51.2] m) and a trained CenterPoint LiDAR teacher
# (projects/CenterPoint/configs/centerpoint_full_nus.py: 0.6 m / 180 x 180 over [-54, 54] m; its
# maps are sampled at the student's positions in metres). Schedule of the official code
# (../../../shared/METHOD_FACTS.md Sec. 4): AdamW 2e-4, image backbone x0.1, weight decay 0.01,
# 500 linear warm-up iterations, cosine over 24 epochs. Point the teacher at its checkpoint:
#   --cfg-options model.target_generator.checkpoint=work_dirs/centerpoint_full_nus/epoch_20.pth
_base_ = ['../../projects/BEVDet/configs/bevdet_full_nus.py']
custom_imports = dict(
    imports=['projects.BEVFusion.bevfusion', 'projects.BEVDet.bevdet', 'projects.CenterPoint.centerpoint'],
    allow_failed_imports=False,
)
teacher_config = 'projects/CenterPoint/configs/centerpoint_full_nus.py'
teacher_checkpoint = None
# the plain student: the step cost's reference (tools/benchmark_pretrain.py)
downstream_config = 'projects/BEVDet/configs/bevdet_full_nus.py'
max_epochs = 24
model = dict(
    _delete_=True,
    type='BEVDistill',
    student={{_base_.model}},
    target_generator=dict(type='DetectorTeacher', config=teacher_config, checkpoint=teacher_checkpoint),
)
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={'student.img_backbone': dict(lr_mult=0.1)}),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 3, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', eta_min_ratio=1e-3, by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
