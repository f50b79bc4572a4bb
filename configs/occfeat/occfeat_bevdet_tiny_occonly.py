# Tiny OccFeat with L_occ only (lambda = 0; Table 3's "L_occ only", Table 4's lambda = 0): no
# feature output and no teacher. Everything else as occfeat_bevdet_tiny.py.
_base_ = ['./occfeat_bevdet_tiny.py']
random_teacher_weights = None
model = dict(head=dict(feat_channels=0), target_generator=None, loss_feat=None)
