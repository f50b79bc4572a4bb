# SLidR pre-training of the LiDAR segmentation model's MinkUNet-34 backbone on nuScenes (full size),
# SLidR's SGD schedule (lr 0.5, cosine, 50 epochs, batch 4);
# fine-tunes projects/MinkUNet/configs/minkunet_lidarseg_full_nus.py.
_base_ = [
    '../_base_/datasets/nus_image2lidar_seg_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/sgd_cosine_50e.py',
    './_base_/slidr_minkunet_model.py',
]
downstream_config = 'projects/MinkUNet/configs/minkunet_lidarseg_full_nus.py'
train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4,
         backend_args={{_base_.backend_args}}),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}},
         backend_args={{_base_.backend_args}}),
    dict(type='LoadSuperpixels', cache_root='data/superpixels', source='slic', size=(225, 400)),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-3.1415926, 3.1415926],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='PackSSLInputs', keys=['points']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
