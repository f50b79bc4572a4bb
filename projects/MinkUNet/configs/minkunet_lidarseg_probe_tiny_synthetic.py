# Linear probe of the tiny MinkUNet (SLidR's protocol: `freeze_layers: True`, every layer but the
# final one frozen): only the head's final linear layer (`decode_head.conv_seg`, 48 x 16 + 16 = 784
# parameters) trains; the encoder-decoder is frozen and its batch-norm layers stay in eval mode
# (running statistics frozen). Start it from a pre-training with `model.init_from.checkpoint`.
_base_ = ['./minkunet_lidarseg_tiny_synthetic.py']
model = dict(finetune_strategy=dict(type='LinearProbe', trainable=['decode_head.conv_seg']))
