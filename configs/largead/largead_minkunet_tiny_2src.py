# LargeAD Table 11 ablation on the CPU: two sources instead of one. The synthetic world seen by its
# 32-beam rig (data/synthetic-nuscenes/) and a second world seen by a 64-beam rig with intensity in
# 0-1 (data/synthetic-nuscenes-64beam/: `python tools/create_synthetic_nuscenes.py --out
# data/synthetic-nuscenes-64beam --lidar-rig hdl64e --seed 1`: another seed, since the caches are
# keyed by sample token and MultiSourceDataset refuses shared tokens), each sample's intensity standardised with its
# source's statistics (`python tools/compute_source_stats.py
# configs/_base_/datasets/synthetic_nus_multisource_pretrain.py --out data/multisource_stats.json`),
# both sources in every batch (SourceInterleavedSampler), so L_cdp contrasts across rigs. The partner
# frame of L_tmp comes from the sample's own source and is normalised with the same statistics.
# Superpixel caches: build them for both worlds (tools/make_superpixels.py, as largead_minkunet_tiny.py).
# The label-efficiency harness (`--model minkunet_lidarseg --methods largead_2src`) does all of this:
# the benchmark's world becomes source 0, the 64-beam world is generated from `synthetic_source_worlds`
# (the preset's world options plus these) when missing, then the statistics and both caches.
_base_ = ['./largead_minkunet_tiny.py']
source_stats_file = 'data/multisource_stats.json'
synthetic_source_worlds = [dict(data_root='data/synthetic-nuscenes-64beam/', lidar_rig='hdl64e', seed=1)]
source_meta_keys = ['source_index', 'source_name']
two_source_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4),
    dict(type='LoadTemporalFrame', n=1, load_dim=5, use_dim=4),
    dict(type='PerSourceNormalizePoints', stats_file=source_stats_file, columns=[3]),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}}),
    dict(type='LoadSuperpixels', cache_root='data/superpixels', source={{_base_.largead_superpixels}}),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-3.1415926, 3.1415926],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='TemporalSegments', ground_threshold=0.2, min_cluster_size=20),
    dict(type='PackSSLInputs', keys=['points'], meta_keys=source_meta_keys),
]
world_source = dict(
    type='NuScenesSSLDataset',
    data_root='data/synthetic-nuscenes/',
    ann_file='nuscenes_infos_train.pkl',
    metainfo={{_base_.metainfo}},
    modality={{_base_.input_modality}},
    data_prefix={{_base_.data_prefix}},
    camera_names={{_base_.camera_names}},
    with_label=False,
    box_type_3d='LiDAR')
train_dataloader = dict(
    sampler=dict(_delete_=True, type='SourceInterleavedSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='MultiSourceDataset',
        sources=[world_source, dict(world_source, data_root='data/synthetic-nuscenes-64beam/')],
        names=['synthetic-nuscenes', 'synthetic-nuscenes-64beam'],
        pipeline=two_source_pipeline))
