# Multi-source image-to-LiDAR pre-training data (LargeAD Sec. 4.4, ScaLR): two synthetic worlds
# seen by two LiDAR rigs, mixed by MultiSourceDataset, each sample's intensity standardised with its
# own source's mean / std (PerSourceNormalizePoints) and tagged with source_index / source_name
# (packed into data_sample.metainfo, read by LargeAD's cross-source term L_cdp).
#   source 0 'synthetic-nuscenes':       data/synthetic-nuscenes/ (32 beams, +10.67 / -30.67 deg,
#                                        intensity 0-255; `make data`)
#   source 1 'synthetic-nuscenes-64beam': data/synthetic-nuscenes-64beam/ (64 beams, +2 / -24.8 deg,
#                                        intensity 0-1), written by
#       python tools/create_synthetic_nuscenes.py --out data/synthetic-nuscenes-64beam --lidar-rig hdl64e --seed 1
# Statistics (once per set of sources; the pipeline refuses a source that is not in the file):
#   python tools/compute_source_stats.py configs/_base_/datasets/synthetic_nus_multisource_pretrain.py \
#       --out data/multisource_stats.json
# The pipeline is the one of synthetic_nus_image2lidar_seg_pretrain.py (keyframe points x, y, z,
# intensity; six un-augmented images for the frozen teacher) with the normalisation after loading.
# SourceInterleavedSampler puts samples of both sources in every batch (a plain shuffle leaves
# half the batches of 2 single-source, where L_cdp is zero).
# KITTI (where data/kitti/kitti_infos_train.pkl exists): add `kitti_source` below to `sources`
# and 'kitti' to `names`, then recompute the statistics (its reflectance gets its own mean / std).
_base_ = ['./synthetic_nus_image2lidar_seg_pretrain.py']

data_root = 'data/synthetic-nuscenes/'
data_root_64beam = 'data/synthetic-nuscenes-64beam/'
source_names = ['synthetic-nuscenes', 'synthetic-nuscenes-64beam']
source_stats_file = 'data/multisource_stats.json'
source_meta_keys = ['source_index', 'source_name']

train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4,
         backend_args={{_base_.backend_args}}),
    dict(type='PerSourceNormalizePoints', stats_file=source_stats_file, columns=[3]),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}},
         backend_args={{_base_.backend_args}}),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-3.1415926, 3.1415926],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='PackSSLInputs', keys=['points'], meta_keys=source_meta_keys),
]


world_source = dict(
    type='NuScenesSSLDataset',
    data_root=data_root,
    ann_file='nuscenes_infos_train.pkl',
    metainfo={{_base_.metainfo}},
    modality={{_base_.input_modality}},
    data_prefix={{_base_.data_prefix}},
    camera_names={{_base_.camera_names}},
    with_label=False,
    bad_sample='raise',
    test_mode=False,
    box_type_3d='LiDAR',
    backend_args={{_base_.backend_args}})
world_64beam_source = dict(world_source, data_root=data_root_64beam)

kitti_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=4, use_dim=4),
    dict(type='PerSourceNormalizePoints', stats_file=source_stats_file, columns=[3]),
    dict(type='LoadSSLMultiViewImages', camera_names=['CAM2']),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-3.1415926, 3.1415926],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='PackSSLInputs', keys=['points'], meta_keys=source_meta_keys),
]
kitti_source = dict(
    type='KittiSSLDataset',
    data_root='data/kitti/',
    ann_file='kitti_infos_train.pkl',
    pipeline=kitti_pipeline,
    metainfo=dict(classes=['Pedestrian', 'Cyclist', 'Car']),
    modality=dict(use_lidar=True, use_camera=True),
    data_prefix=dict(pts='training/velodyne_reduced', img='training/image_2'),
    camera_names=['CAM2'],
    with_label=False,
    box_type_3d='LiDAR')

train_dataloader = dict(
    sampler=dict(type='SourceInterleavedSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='MultiSourceDataset',
        sources=[world_source, world_64beam_source],
        names=source_names,
        pipeline=train_pipeline))
