# nus_occ_pretrain.py on the synthetic world (the sizes of synthetic_nus_pretrain.py: 128x352
# network input, the tiny detectors' range [-25.6, 25.6] x [-51.2, 51.2] x [-5, 3] m).
_base_ = ['./synthetic_nus_pretrain.py']
train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}}),
    dict(type='ImageAug3D', final_dim={{_base_.image_size}}, resize_lim={{_base_.img_resize_lim}},
         bot_pct_lim=[0.0, 0.0], rot_lim={{_base_.img_rot_lim}}, rand_flip=True, is_train=True),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-0.78539816, 0.78539816],
         scale_ratio_range=[0.9, 1.1], translation_std=0.5),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='SSLPointsRangeFilter', point_cloud_range={{_base_.point_cloud_range}}),
    dict(type='PackSSLInputs', keys=['points', 'img']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
