# occfeat_bevdet_tiny.py with the released DINOv2 ViT-S/14 weights instead of the random teacher (for a
# machine that has the file: data/weights/dinov2_vits14_pretrain.pth, docs/teachers.md). The feature cache
# is keyed by the weights file, so the random teacher's cache is never read for it. Label-efficiency row:
#   python tools/benchmark_label_efficiency.py --preset cpu --model bevdet \
#       --methods scratch,occfeat_dinov2 --finetune-iters 300 --out work_dirs/le_bevdet_dinov2
_base_ = ['./occfeat_bevdet_tiny.py']
random_teacher_weights = None
model = dict(
    target_generator=dict(features=dict(teacher=dict(checkpoint='data/weights/dinov2_vits14_pretrain.pth'))))
