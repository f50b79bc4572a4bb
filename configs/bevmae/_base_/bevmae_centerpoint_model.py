# BEV-MAE model on the CenterPoint embedding network (the encoders of
# projects/CenterPoint/configs/centerpoint_full_nus.py, checked by
# tests/test_configs/test_lidar_pretrain_configs.py). Paper/official defaults (METHOD_FACTS 6):
# 70% of the non-empty BEV cells at the encoder's stride (0.6 m here: 0.075 m voxels x 8; the
# paper's 0.8 m is 0.1 m x 8), no empty cell; masked voxels keep their coordinates with a
# zero-initialised point token; one 3 x 3 conv-BN-ReLU decoder predicting 20 points and a density
# per cell; Chamfer (up to 20 target points per pillar; official 30: max_target_points=30) +
# Smooth-L1 density.
_base_ = ['../../_base_/models/centerpoint_lidar_encoders_nus_model.py']
custom_imports = dict(imports=['projects.CenterPoint.centerpoint'], allow_failed_imports=False)
bevmae_pcr = {{_base_.lidar_pcr}}
bevmae_voxel_size = {{_base_.lidar_voxel_size}}
bevmae_bev_cell_size = [0.6, 0.6]
bevmae_embed_dims = 256  # 128 x 2
model = dict(
    type='BEVMAE',
    point_cloud_range=bevmae_pcr,
    voxel_size=bevmae_voxel_size,
    point_token_dims=5,
    max_target_points=20,
    z_scale=None,  # the range's height; official: 6 m (Waymo)
    # per sample; the official code: nonempty_scope='batch'
    lidar_masker=dict(type='BEVGuidedMasker', point_cloud_range=bevmae_pcr,
                      bev_cell_size=bevmae_bev_cell_size, ratio_nonempty=0.7, ratio_empty=0.0),
    decoder=dict(type='BEVPointDecoder', in_channels=bevmae_embed_dims, num_points=20),
    loss_chamfer=dict(type='ChamferLoss', weight_pred=1.0, weight_target=1.0, loss_weight=1.0),
    loss_density=dict(type='mmdet.SmoothL1Loss', beta=1.0, loss_weight=1.0))
