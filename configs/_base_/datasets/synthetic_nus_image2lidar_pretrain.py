# nus_image2lidar_pretrain on the synthetic world (data/synthetic-nuscenes/), sized for the CPU:
# the LiDAR of synthetic_nus_lidar_pretrain.py (2 sweeps, the tiny CenterPoint's range and
# augmentation) and the six un-augmented camera images for the frozen teacher.
_base_ = ['./nus_image2lidar_pretrain.py']
data_root = 'data/synthetic-nuscenes/'
point_cloud_range = [-25.6, -51.2, -5.0, 25.6, 51.2, 3.0]
num_sweeps = 2
train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
    dict(type='LoadSSLPointsFromMultiSweeps', sweeps_num=num_sweeps, load_dim=5,
         use_dim=[0, 1, 2, 3, 4], pad_empty_sweeps=True, remove_close=True),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}}),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-0.2618, 0.2618],
         scale_ratio_range=[0.95, 1.05], translation_std=[0.2, 0.2, 0.1]),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='SSLPointsRangeFilter', point_cloud_range=point_cloud_range),
    dict(type='mmdet3d.PointShuffle'),
    dict(type='PackSSLInputs', keys=['points']),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
