# BEVDistill's ablation on the tiny BEVDet: the dense term alone (the other two switched off).
_base_ = ['./bevdistill_bevdet_tiny.py']
model = dict(instance=None, response=None)
