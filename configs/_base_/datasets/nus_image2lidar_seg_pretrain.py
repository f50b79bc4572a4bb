# Image-to-LiDAR distillation data for a point-wise student (the LiDAR segmentation model's
# MinkUNet backbone): the keyframe sweep with the segmentation model's 4 point features (x, y, z,
# intensity) and augmentation (nus_lidarseg.py: rotation U(-pi, pi), scale U(0.95, 1.05), flips),
# and the six un-augmented camera images for the frozen teacher (cache or live, as
# nus_image2lidar_pretrain.py). Single sweep, as SLidR pairs the keyframe only.
_base_ = ['./nus_image2lidar_pretrain.py']
train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4,
         backend_args={{_base_.backend_args}}),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}},
         backend_args={{_base_.backend_args}}),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-3.1415926, 3.1415926],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='PackSSLInputs', keys=['points']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
