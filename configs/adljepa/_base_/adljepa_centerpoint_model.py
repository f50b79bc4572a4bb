# AD-L-JEPA model on the CenterPoint embedding network (MMDet3D's 0.075 m nuScenes CenterPoint:
# HardSimpleVFE + SparseEncoder -> 128 x 2 z over [-54, 54]^2 x [-5, 3] m, BEV stride 8). The
# encoder entries equal those of projects/CenterPoint/configs/centerpoint_full_nus.py (checked by
# tests/test_configs/test_lidar_pretrain_configs.py), so the context encoder fine-tunes the detector
# with its identity prefix map (`model.init_from`); the EMA target encoder (`teacher.*`), the
# predictor and the tokens are not loaded. Paper defaults (Sec. III, IV-B): 50% / 50% masking
# of non-empty / empty BEV cells at the encoder's stride (0.6 m cells, 180 x 180), D = 256,
# 3 x (3 x 3 conv-BN-ReLU) predictor, alpha 0.25 / 0.75, gamma = 1 / sqrt(D), lambda_jepa =
# lambda_reg = 1 (KITTI; Waymo: loss_reg.loss_weight=10), beta_1 = beta_2 = 1, EMA 0.996 -> 1
# (TeacherMomentumHook in the runnable config).
_base_ = ['../../_base_/models/centerpoint_lidar_encoders_nus_model.py']
custom_imports = dict(imports=['projects.CenterPoint.centerpoint'], allow_failed_imports=False)
adljepa_pcr = {{_base_.lidar_pcr}}
adljepa_voxel_size = {{_base_.lidar_voxel_size}}
adljepa_bev_cell_size = [0.6, 0.6]  # voxel size x the BEV stride 8
adljepa_embed_dims = 256  # D = 128 channels x 2 z levels
model = dict(
    type='ADLJEPA',
    embed_dims=adljepa_embed_dims,
    # per sample, exact counts; the official code: nonempty_scope='batch', empty_sampling='bernoulli'
    lidar_masker=dict(type='BEVGuidedMasker', point_cloud_range=adljepa_pcr,
                      bev_cell_size=adljepa_bev_cell_size, ratio_nonempty=0.5, ratio_empty=0.5),
    teacher=dict(source='pts_middle_encoder', momentum=0.996, update_buffers=False),
    predictor=dict(type='BEVEmbeddingPredictor', channels=adljepa_embed_dims, num_layers=3,
                   kernel_size=3),
    loss_jepa=dict(type='MaskedCosineLoss', alpha_empty=0.25, alpha_nonempty=0.75, loss_weight=1.0),
    loss_reg=dict(type='PerSampleVarianceLoss', gamma=None, eps=1e-4, sample_reduction='mean',
                  loss_weight=1.0),
    reg_betas=(1.0, 1.0))
