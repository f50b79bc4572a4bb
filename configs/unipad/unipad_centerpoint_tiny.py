# Tiny LiDAR-only UniPAD on the synthetic world: depth only, as the official LiDAR pre-training;
# encoders equal those of projects/CenterPoint/configs/centerpoint_tiny_synthetic.py.
# See unipad_bevfusion_tiny.py.
_base_ = ['./unipad_bevfusion_tiny.py']
downstream_config = 'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py'
custom_imports = dict(imports=['projects.CenterPoint.centerpoint'], allow_failed_imports=False)
model = dict(
    data_preprocessor=dict(
        _delete_=True, type='TorchVoxelDataPreprocessor', voxel=True,
        voxel_layer=dict(max_num_points=10, voxel_size=[0.2, 0.2, 0.4],
                         max_voxels=(40000, 40000),
                         point_cloud_range=[-25.6, -51.2, -5.0, 25.6, 51.2, 3.0])),
    img_backbone=None,
    img_neck=None,
    view_transform=None,
    img_masker=None,
    loss_rgb=None)
