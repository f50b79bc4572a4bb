# Camera-only occupancy pre-training data on nuScenes (OccFeat): the images and augmentations of
# nus_pretrain.py (BEVFusion's), the keyframe LiDAR sweep only (OccFeat's occupancy is single-frame,
# Sec. 3.2), no masks and no rendering targets. LiDAR never enters the BEV network: the method
# voxelises it into the occupancy targets and projects the occupied voxels into the teacher's maps
# with the un-augmented calibration (ori_lidar2img), so the image augmentations stay free.
# A live teacher (cache_root=None) also needs LoadSSLMultiViewImages(keep_ori_img=True).
_base_ = ['./nus_pretrain.py']
train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5,
         backend_args={{_base_.backend_args}}),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}},
         backend_args={{_base_.backend_args}}),
    dict(type='ImageAug3D', final_dim={{_base_.image_size}}, resize_lim={{_base_.img_resize_lim}},
         bot_pct_lim=[0.0, 0.0], rot_lim={{_base_.img_rot_lim}}, rand_flip=True, is_train=True),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-0.78539816, 0.78539816],
         scale_ratio_range=[0.9, 1.1], translation_std=0.5),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='SSLPointsRangeFilter', point_cloud_range={{_base_.point_cloud_range}}),
    dict(type='PackSSLInputs', keys=['points', 'img']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
