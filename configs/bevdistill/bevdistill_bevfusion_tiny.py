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
    dense=dict(
        loss=dict(type='ForegroundMSELoss', loss_weight=0.01), feature='shared', min_overlap=0.1, min_radius=1
    ),
    instance=dict(loss=dict(type='InfoNCELoss', temperature=0.07, loss_weight=0.2), num_instances=100, channels=128),
    response=dict(
        top_k=50,
        box_loss=dict(type='ScoreWeightedL1Loss', loss_weight=0.25, score_power=1.0),
        heatmap_loss=dict(type='SoftFocalLoss', loss_weight=0.0),
    ),
)
