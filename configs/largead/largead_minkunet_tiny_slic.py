# LargeAD Table 8 ablation on the CPU: SLIC superpixels (SLidR's settings) instead of the VFM stand-in.
_base_ = ['./largead_minkunet_tiny.py']
largead_superpixels = 'slic'
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4),
    dict(type='LoadTemporalFrame', n=1, load_dim=5, use_dim=4),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}}),
    dict(type='LoadSuperpixels', cache_root='data/superpixels', source='slic'),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-3.1415926, 3.1415926],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='TemporalSegments', ground_threshold=0.2, min_cluster_size=20),
    dict(type='PackSSLInputs', keys=['points']),
]))
