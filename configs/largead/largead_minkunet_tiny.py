# Tiny LargeAD with the point-wise student of projects/MinkUNet/configs/minkunet_lidarseg_tiny_synthetic.py
# on the synthetic world (CPU), as configs/slidr/slidr_minkunet_tiny.py but: superpixels from the stated
# stand-in for a VFM (k-means, 32 clusters, over the patch features of the frozen teacher, here the
# randomly initialised ViT-S/14 at 126x224; no SAM weights exist on the CPU machine), the frame pair
# (LoadTemporalFrame: the next keyframe of the scene) and its joint segments (TemporalSegments).
# Build the superpixel cache first (the label-efficiency harness does it when missing):
#   python tools/make_superpixels.py data/synthetic-nuscenes/nuscenes_infos_train.pkl \
#       data/synthetic-nuscenes data/superpixels --source kmeans --source-options \
#       teacher_checkpoint=data/weights/dinov2_vits14_random_seed0.pth input_size=126,224
_base_ = ['../slidr/slidr_minkunet_tiny.py', './_base_/largead_minkunet_model.py']
model = {{_base_.largead_model}}
largead_superpixels = dict(
    type='kmeans', teacher_checkpoint={{_base_.slidr_teacher_file}}, input_size=(126, 224))
train_pipeline = [
    dict(type='LoadSSLPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4),
    dict(type='LoadTemporalFrame', n=1, load_dim=5, use_dim=4),
    dict(type='LoadSSLMultiViewImages', camera_names={{_base_.camera_names}}),
    dict(type='LoadSuperpixels', cache_root='data/superpixels', source=largead_superpixels),
    dict(type='SSLGlobalRotScaleTrans', rot_range=[-3.1415926, 3.1415926],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='SSLRandomFlip3D', flip_ratio_bev_horizontal=0.5, flip_ratio_bev_vertical=0.5),
    dict(type='TemporalSegments', ground_threshold=0.2, min_cluster_size=20),
    dict(type='PackSSLInputs', keys=['points']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
