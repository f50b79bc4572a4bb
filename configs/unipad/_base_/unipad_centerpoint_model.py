# UniPAD, LiDAR only, on the CenterPoint embedding network (0.075 m hard voxels, HardSimpleVFE +
# SparseEncoder -> 128 x 2 z over [-54, 54]^2 x [-5, 3] m; the encoder entries equal those of
# projects/CenterPoint/configs/centerpoint_full_nus.py, checked by
# tests/test_models/test_algorithms/test_method_configs.py). As UniPAD's official LiDAR
# pre-training: depth only (no colour term); images are loaded for the ray geometry, not encoded.
_base_ = ['./unipad_bevfusion_model.py']
custom_imports = dict(imports=['projects.CenterPoint.centerpoint'], allow_failed_imports=False)
model = dict(
    data_preprocessor=dict(
        _delete_=True, type='TorchVoxelDataPreprocessor', voxel=True, voxel_type='hard',
        voxel_layer=dict(max_num_points=10, point_cloud_range=[-54, -54, -5.0, 54, 54, 3.0],
                         voxel_size=[0.075, 0.075, 0.2], max_voxels=(90000, 120000))),
    img_backbone=None,
    img_neck=None,
    view_transform=None,
    img_masker=None,
    loss_rgb=None,
    pts_middle_encoder=dict(encoder_paddings=((0, 0, 1), (0, 0, 1), (0, 0, [0, 1, 1]), (0, 0))))
