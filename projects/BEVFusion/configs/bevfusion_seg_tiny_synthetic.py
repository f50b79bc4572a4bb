# Tiny BEVFusion for BEV map segmentation only (BEVFusion trains detection and segmentation as
# separate models): the tiny detector without its CenterHead, evaluated with BEVSegMetric
# (per-class IoU, max over thresholds 0.35-0.65, mIoU). Targets are the pipeline's
# `gt_bev_seg.masks` when present, else ground-truth boxes rasterised in BEV (see README).
_base_ = ['./bevfusion_tiny_synthetic.py']
model = dict(bbox_head=None)
val_evaluator = dict(_delete_=True, type='BEVSegMetric', classes=['vehicle', 'pedestrian', 'barrier'])
test_evaluator = val_evaluator
