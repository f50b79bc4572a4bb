# OccFeat pre-training of BEVDet (camera only) on nuScenes: occupancy + DINOv2 ViT-S/14 feature
# prediction on a voxel grid above the BEV map (paper Sec. 3; configs/occfeat/README.md), the
# paper's schedule (Adam, constant 1e-3, wd 1e-7, 50 epochs, batch 16 = 4 x 4). Images at the
# detector's 256x704 (the paper's SimpleBEV runs at 224x400). Before training, cache the teacher:
#   python tools/cache_teacher_features.py configs/occfeat/occfeat_bevdet.py --device cuda
# with the official weights in data/weights/dinov2_vits14_pretrain.pth (docs/teachers.md).
_base_ = [
    '../_base_/datasets/nus_occ_pretrain.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/adam_constant_50e.py',
    './_base_/occfeat_bevdet_model.py',
]
downstream_config = 'projects/BEVDet/configs/bevdet_full_nus.py'
train_dataloader = dict(batch_size=4)
