# BEVDet-tiny with a DINOv2 ViT-S/14 image backbone adapted by LoRA (the survey's recipe for small
# labelled sets, Sec. 7: rank 16 on the attention projections; the survey's range is 16-32). The ViT
# runs at 126x350 (the 128x352 input resized to multiples of 14); blocks 4, 8 and 12 are resampled to
# strides 8 / 16 / 32 for the neck. The ViT's own weights stay frozen; its attention layers get
# adapters; the neck, view transform, BEV encoder and heads (randomly initialised) train fully.
# Weights: the released file in data/weights/dinov2_vits14_pretrain.pth (docs/teachers.md; nothing
# is downloaded). Export / merge the adapters with tools/lora_adapter.py.
_base_ = ['./bevdet_tiny_synthetic.py']
model = dict(
    img_backbone=dict(
        _delete_=True,
        type='DINOv2ImageBackbone',
        arch='vit_small_patch14_dinov2',
        checkpoint='data/weights/dinov2_vits14_pretrain.pth',
        input_size=(126, 350),
        out_indices=(3, 7, 11),
        out_strides=(8, 16, 32),
    ),
    img_neck=dict(in_channels=[384, 384, 384]),
    finetune_strategy=dict(
        type='LoRAFinetune',
        rank=16,
        target_modules=[r'img_backbone\.vit\.blocks\.\d+\.attn\.(qkv|proj)$'],
        trainable=['img_neck', 'view_transform', 'pts_backbone', 'pts_neck', 'bbox_head', 'seg_head'],
    ),
)
