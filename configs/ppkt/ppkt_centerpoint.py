# PPKT pre-training of the CenterPoint LiDAR encoders on nuScenes (full size): SLidR's SGD schedule
# (lr 0.5, cosine, 50 epochs, batch 4). Build the teacher cache first:
#   python tools/cache_teacher_features.py configs/ppkt/ppkt_centerpoint.py
_base_ = [
    '../_base_/datasets/nus_image2lidar_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/sgd_cosine_50e.py',
    './_base_/ppkt_centerpoint_model.py',
]
downstream_config = 'projects/CenterPoint/configs/centerpoint_full_nus.py'
