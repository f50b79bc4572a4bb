# LargeAD pre-training of the LiDAR segmentation model's MinkUNet-34 backbone on nuScenes (full size):
# SAM ViT-H superpixels (Seal's generator settings; build the cache once with
# `python tools/make_superpixels.py data/nuscenes/nuscenes_infos_train.pkl data/nuscenes data/superpixels
#  --source sam --source-options checkpoint=data/weights/sam_vit_h_4b8939.pth`), the keyframe and the
# next keyframe of its scene (LoadTemporalFrame) segmented jointly (TemporalSegments: RANSAC ground,
# HDBSCAN), SLidR's SGD schedule (the summary gives LargeAD's none). Fine-tunes
# projects/MinkUNet/configs/minkunet_lidarseg_full_nus.py.
_base_ = [
    '../_base_/datasets/nus_image2lidar_seg_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/sgd_cosine_50e.py',
    '../slidr/_base_/slidr_minkunet_model.py',
    './_base_/largead_minkunet_model.py',
]
model = {{_base_.largead_model}}
downstream_config = 'projects/MinkUNet/configs/minkunet_lidarseg_full_nus.py'
largead_superpixels = dict(type='sam', checkpoint='data/weights/sam_vit_h_4b8939.pth', model_type='vit_h')
train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4,
         backend_args={{_base_.backend_args}}),
    dict(type='LoadTemporalFrame', n=1, load_dim=5, use_dim=4),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}},
         backend_args={{_base_.backend_args}}),
    dict(type='LoadSuperpixels', cache_root='data/superpixels', source=largead_superpixels, size=(225, 400)),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-3.1415926, 3.1415926],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='TemporalSegments', ground_threshold=0.2, min_cluster_size=20),
    dict(type='PackSSLInputs', keys=['points']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
