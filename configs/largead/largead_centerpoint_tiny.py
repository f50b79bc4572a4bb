# Tiny LargeAD on the CenterPoint LiDAR encoders (the detection downstream at 10% of the labels), as
# configs/slidr/slidr_centerpoint_tiny.py but with the k-means stand-in superpixels (as
# largead_minkunet_tiny.py) and the frame pair: the partner keyframe is loaded with the sample's 5 columns,
# its ring column set to the keyframe's time lag 0 (time_lag_dim=4), and segmented with the sample after the
# range filter and the shuffle (TemporalSegments must follow every transform that drops or reorders points).
_base_ = ['../slidr/slidr_centerpoint_tiny.py', './_base_/largead_minkunet_model.py']
model = {{_base_.largead_model}}
largead_superpixels = dict(
    type='kmeans', teacher_checkpoint={{_base_.slidr_teacher_file}}, input_size=(126, 224))
train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
    dict(type='LoadSSLPointsFromMultiSweeps', sweeps_num={{_base_.num_sweeps}}, load_dim=5,
         use_dim=[0, 1, 2, 3, 4], pad_empty_sweeps=True, remove_close=True),
    dict(type='LoadTemporalFrame', n=1, load_dim=5, use_dim=5, time_lag_dim=4),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}}),
    dict(type='LoadSuperpixels', cache_root='data/superpixels', source=largead_superpixels),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-0.2618, 0.2618],
         scale_ratio_range=[0.95, 1.05], translation_std=[0.2, 0.2, 0.1]),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='SSLPointsRangeFilter', point_cloud_range={{_base_.point_cloud_range}}),
    dict(type='mmdet3d.PointShuffle'),
    dict(type='TemporalSegments', ground_threshold=0.2, min_cluster_size=20),
    dict(type='PackSSLInputs', keys=['points']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
