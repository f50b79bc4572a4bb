# OccFeat model on the BEVDet BEV network (camera only), full nuScenes settings. The encoder
# entries (data_preprocessor, img_backbone, img_neck, view_transform, pts_backbone, pts_neck) are
# taken from the detector's model config, so a checkpoint fine-tunes BEVDet with an identity
# prefix map; the unsplatting head is not loaded. Paper (Sec. 3.2-3.3, METHOD_FACTS 9): DINOv2
# ViT-S/14 teacher (N_y = 384), Z_B = 8 height levels (SimpleBEV's; the paper leaves it open),
# lambda = 0.01, BCE over all voxels. The voxel grid is the detector's BEV map (128 x 128 cells
# of 0.8 m over [-51.2, 51.2] m; the paper's SimpleBEV grid is 200 x 200 over +-50 m) x 8 levels
# of 1 m over [-5, 3] m.
_base_ = ['../../../projects/BEVDet/configs/_base_/bevdet_model.py']
occfeat_pcr = [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]
occfeat_bev_channels = 384  # the SECONDFPN maps concatenated (3 x 128): N_B
occfeat_teacher_channels = 384  # DINOv2 ViT-S/14
model = dict(
    _delete_=True,
    type='OccFeat',
    data_preprocessor={{_base_.model.data_preprocessor}},
    img_backbone={{_base_.model.img_backbone}},
    img_neck={{_base_.model.img_neck}},
    view_transform={{_base_.model.view_transform}},
    pts_backbone={{_base_.model.pts_backbone}},
    pts_neck={{_base_.model.pts_neck}},
    point_cloud_range=occfeat_pcr,
    head=dict(type='UnsplattingHead', in_channels=occfeat_bev_channels, z_bins=8,
              feat_channels=occfeat_teacher_channels),
    # The frozen teacher's features at the occupied voxels' centres, mean over the cameras that
    # see a centre (Sec. 3.3). Read from the feature cache (tools/cache_teacher_features.py);
    # cache_root=None runs the teacher live (then load the images with keep_ori_img=True).
    target_generator=dict(
        type='PointFeatureTargets', cameras='mean',
        features=dict(
            type='CachedTeacherFeatures', cache_root='data/teacher_cache',
            teacher=dict(type='DINOv2Teacher', arch='vit_small_patch14_dinov2',
                         checkpoint='data/weights/dinov2_vits14_pretrain.pth',
                         input_size=(224, 392), layer=-1, after_norm=True, dtype='fp16',
                         input_range='unit', channel_order='rgb'))),
    loss_occ=dict(type='OccupancyBCELoss', pos_weight=None, loss_weight=1.0),
    loss_feat=dict(type='NegativeCosineLoss', loss_weight=0.01))
