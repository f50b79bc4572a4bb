# SLidR pre-training of the CenterPoint LiDAR encoders on nuScenes (full size): SLidR's SGD
# schedule (lr 0.5, cosine, 50 epochs, batch 4). Superpixels (SLIC 150 / 6 / 3 on the full
# 1600x900 images) are read at 225x400 (nearest), the teacher's maps pooled at its 224x392 input.
# Before training:
#   python tools/make_superpixels.py data/nuscenes/nuscenes_infos_train.pkl data/nuscenes data/superpixels
#   python tools/cache_teacher_features.py configs/slidr/slidr_centerpoint.py
_base_ = [
    '../_base_/datasets/nus_image2lidar_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/sgd_cosine_50e.py',
    './_base_/slidr_centerpoint_model.py',
]
downstream_config = 'projects/CenterPoint/configs/centerpoint_full_nus.py'
train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5,
         backend_args={{_base_.backend_args}}),
    dict(type='LoadSSLPointsFromMultiSweeps', sweeps_num={{_base_.num_sweeps}}, load_dim=5,
         use_dim=[0, 1, 2, 3, 4], pad_empty_sweeps=True, remove_close=True,
         backend_args={{_base_.backend_args}}),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}},
         backend_args={{_base_.backend_args}}),
    dict(type='LoadSuperpixels', cache_root='data/superpixels', source='slic', size=(225, 400)),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-0.3925, 0.3925],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='SSLPointsRangeFilter', point_cloud_range={{_base_.point_cloud_range}}),
    dict(type='mmdet3d.PointShuffle'),
    dict(type='PackSSLInputs', keys=['points']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
