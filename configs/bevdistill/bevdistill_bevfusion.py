# BEVDistill at full size with the camera-only BEVFusion branch as the student
# (projects/BEVFusion/configs/bevfusion_camera_full_nus.py: Swin-T, 256x704, 0.6 m / 180 x 180 BEV
# over [-54, 54] m, the teacher's grid) and a trained CenterPoint teacher
# (projects/CenterPoint/configs/centerpoint_full_nus.py). Terms and schedule as bevdistill_bevdet.py.
_base_ = ['../../projects/BEVFusion/configs/bevfusion_camera_full_nus.py']
custom_imports = dict(
    imports=['projects.BEVFusion.bevfusion', 'projects.CenterPoint.centerpoint'],
    allow_failed_imports=False,
)
teacher_config = 'projects/CenterPoint/configs/centerpoint_full_nus.py'
teacher_checkpoint = None
# the plain student: the step cost's reference (tools/benchmark_pretrain.py)
downstream_config = 'projects/BEVFusion/configs/bevfusion_camera_full_nus.py'
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
