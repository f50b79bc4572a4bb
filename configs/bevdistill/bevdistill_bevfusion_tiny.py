# BEVDistill with the camera-only branch of the tiny BEVFusion as the student
# (projects/BEVFusion/configs/bevfusion_camera_tiny_synthetic.py: 0.8 m BEV cells, the teacher's
# grid) and the tiny CenterPoint teacher; terms and weights as bevdistill_bevdet_tiny.py.
_base_ = ['../../projects/BEVFusion/configs/bevfusion_camera_tiny_synthetic.py']
custom_imports = dict(
    imports=['projects.BEVFusion.bevfusion', 'projects.CenterPoint.centerpoint'], allow_failed_imports=False
)
teacher_config = 'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py'
teacher_checkpoint = None
# the plain student: the step cost's reference (tools/benchmark_pretrain.py)
downstream_config = 'projects/BEVFusion/configs/bevfusion_camera_tiny_synthetic.py'
model = dict(
    _delete_=True,
    type='BEVDistill',
    student={{_base_.model}},
    target_generator=dict(type='DetectorTeacher', config=teacher_config, checkpoint=teacher_checkpoint),
    instance=dict(channels=128),  # the official terms (BEVDistill.DENSE/INSTANCE/RESPONSE), 128-wide projections
)
