# BEVDistill's ablation on the tiny BEVDet: the response term alone (the other two switched off).
_base_ = ['./bevdistill_bevdet_tiny.py']
model = dict(dense=None, instance=None)
