# LiDAR half of UniPAD's official fusion recipe at tiny size: the sparse encoder of
# unipad_bevfusion_tiny.py pre-trained alone, depth only (the official LiDAR pre-training renders
# no colour; the images give the ray geometry). See unipad_bevfusion_tiny_cam.py.
_base_ = ['./unipad_bevfusion_tiny.py']
model = dict(img_backbone=None, img_neck=None, view_transform=None, img_masker=None, loss_rgb=None)
