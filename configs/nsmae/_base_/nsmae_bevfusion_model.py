# NS-MAE model on the BEVFusion embedding network (camera + LiDAR), full nuScenes settings
# (paper Sec. 4.1; METHOD_FACTS 1): 256x704 images, Swin-T + FPN, LSS (1-60 m, 0.5 m bins),
# LiDAR voxels 0.075 x 0.075 x 0.2 m over [-54, 54]^2 x [-5, 3] m, sparse encoder -> 128 x 2 z.
# The encoder entries (data_preprocessor, img_backbone, img_neck, view_transform,
# pts_voxel_encoder, pts_middle_encoder) are taken from the detector's model config, so a
# checkpoint fine-tunes it with an identity prefix map; render_head / renderers / maskers are not
# loaded. The values below restate the detector's sizes the NS-MAE parts depend on.
_base_ = ['../../../projects/BEVFusion/configs/_base_/bevfusion_lc_model.py']
nsmae_pcr = [-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]
nsmae_voxel_size = [0.075, 0.075, 0.2]
nsmae_image_size = [256, 704]
nsmae_img_channels = 80  # C_I, LSS context channels
nsmae_lidar_channels = 128  # C_L
model = dict(
    _delete_=True,
    type='NSMAE',
    # the detector's encoders (Swin-T without init_cfg: the official pre-training starts from
    # random weights)
    data_preprocessor={{_base_.model.data_preprocessor}},
    img_backbone={{_base_.model.img_backbone}},
    img_neck={{_base_.model.img_neck}},
    view_transform={{_base_.model.view_transform}},
    pts_voxel_encoder={{_base_.model.pts_voxel_encoder}},
    pts_middle_encoder={{_base_.model.pts_middle_encoder}},
    lidar_channels=nsmae_lidar_channels,
    point_cloud_range=nsmae_pcr,
    render_z_bins=8,
    render_head=dict(
        type='ConditionalRenderField',
        in_channels=nsmae_img_channels + nsmae_lidar_channels,
        point_cloud_range=nsmae_pcr, feat_channels=32, num_convs=2,
        color_feat_channels=16, dir_freqs=4, mlp_hidden=64),
    # Sample steps of the paper: 0.8 (perspective, camera-z metres), 0.2 (BEV, metres).
    per_renderer=dict(type='VolumeRenderer', near=1.0, far=60.0, step=0.8),
    bev_renderer=dict(type='VolumeRenderer', near=0.0,
                      far=nsmae_pcr[5] - nsmae_pcr[2], step=0.2),
    # Paper weights: 1e4 x MSE on RGB in [0, 1]; 1e-2 x L1 on depth in metres. To reproduce
    # the released code (early_stop_all_depth: depth terms off) set both depth weights to 1e-8.
    loss_rgb=dict(type='MaskedLpLoss', p=2, loss_weight=1e4),
    loss_depth_per=dict(type='MaskedLpLoss', p=1, loss_weight=1e-2),
    loss_depth_bev=dict(type='MaskedLpLoss', p=1, loss_weight=1e-2),
    # 50% of 8x8 patches at 256x704, one mask per camera (official: shared=True); the masker
    # holds the learnable [MASK] token and draws the mask when the pipeline does not.
    img_masker=dict(type='ImagePatchMasker', patch_size=8, ratio=0.5, shared=False),
    # 90% of the non-empty encoder voxels. Set to None when the pipeline masks the LiDAR
    # (it then provides ssl_targets.masked_points).
    lidar_masker=dict(type='VoxelMasker', voxel_size=nsmae_voxel_size, point_cloud_range=nsmae_pcr,
                      ratio=0.9),
    # rays per camera / per sample and iteration; the BEV sampler's point_cloud_range defaults to
    # the model's, its target_range (extent of the BEV depth target) to point_cloud_range
    per_sampler=dict(type='PerspectiveRaySampler', num_random=512, num_depth=256, target_stride=1),
    bev_sampler=dict(type='BEVRaySampler', num_random=1024, num_depth=1024, cell_size=(0.6, 0.6),
                     target_range=None),
    img_feature_level=0)
