# BEVDistill (ICLR 2023) on the CPU-sized detectors: the tiny BEVDet camera student
# (projects/BEVDet/configs/bevdet_tiny_synthetic.py, its data, schedule and heads unchanged) and
# the tiny CenterPoint LiDAR teacher (projects/CenterPoint/configs/centerpoint_tiny_synthetic.py,
# 0.8 m output cells over the same 51.2 x 102.4 m range; the student's are 1.6 m). The teacher
# must be trained first: set `teacher_checkpoint` or pass
#   --cfg-options model.target_generator.checkpoint=work_dirs/centerpoint_tiny/iter_400.pth
# Term weights and settings: ../../../shared/METHOD_FACTS.md Sec. 4 (official code); the
# instance projections are 128 wide instead of 512 (the tiny BEV maps have 64 channels).
_base_ = ['../../projects/BEVDet/configs/bevdet_tiny_synthetic.py']
custom_imports = dict(
    imports=['projects.BEVFusion.bevfusion', 'projects.BEVDet.bevdet', 'projects.CenterPoint.centerpoint'],
    allow_failed_imports=False,
)
teacher_config = 'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py'
teacher_checkpoint = None
# the plain student: the step cost's reference (tools/benchmark_pretrain.py)
downstream_config = 'projects/BEVDet/configs/bevdet_tiny_synthetic.py'
model = dict(
    _delete_=True,
    type='BEVDistill',
    student={{_base_.model}},
    target_generator=dict(type='DetectorTeacher', config=teacher_config, checkpoint=teacher_checkpoint),
    instance=dict(channels=128),  # the official terms (BEVDistill.DENSE/INSTANCE/RESPONSE), 128-wide projections
)
