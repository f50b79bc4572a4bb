"""LoRA fine-tuning through ``peft``: adapters on the encoders, saved apart, merged for deployment.

What peft 0.21 wraps (``peft.tuners.lora.layer.dispatch_default``): ``nn.Linear``,
``nn.Conv1d``/``Conv2d``/``Conv3d``, ``nn.Embedding``, ``nn.MultiheadAttention`` and
transformers' ``Conv1D``. In the project's detectors that is every conv of the ResNet image
backbone, the FPN neck, the view transform, the fuser and the SECOND BEV encoder, and every
``nn.Linear`` (ViT attention projections where a ViT backbone is used). It does **not** wrap
``nn.ConvTranspose2d`` (SECONDFPN's up-sampling) nor spconv's sparse convolutions (the LiDAR
``SparseEncoder``): those stay frozen, and the strategy says which and how many parameters; list
the module in ``trainable`` (e.g. ``trainable=['bbox_head', 'pts_middle_encoder']``) to train it
fully instead.

Checkpoint keys: peft keeps a wrapped layer's own weights under ``<layer>.base_layer.`` and adds
``<layer>.lora_A.default.weight`` / ``lora_B``; ``init_from`` (``mmssl.models.utils``) maps a
pre-training checkpoint's ``<layer>.weight`` onto ``base_layer``, so LoRA fine-tunes start from
the same checkpoints as full fine-tuning. :func:`adapter_state_dict` is what LoRA trained (the
adapters and the fully trained modules); :func:`merge_lora` folds the adapters into the base
weights (``W + scale * B A``) and removes the wrappers, giving the plain detector's structure.
"""

from __future__ import annotations

import re
from typing import Sequence

import torch
from mmengine.logging import print_log
from torch import Tensor, nn

from mmssl.registry import MODELS

from .strategies import DEFAULT_HEADS, LinearProbe, in_modules

#: Layer types peft's LoRA wraps (the subset found in the project's detectors).
LORA_LAYER_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _sparse_conv_types() -> tuple[type, ...]:
    """spconv's (and mmcv's) sparse convolution classes, when installed."""
    types: list[type] = []
    try:
        from spconv.pytorch.conv import SparseConvolution

        types.append(SparseConvolution)
    except ImportError:
        pass
    try:
        from mmcv.ops import SparseConvolution as MMCVSparseConvolution

        types.append(MMCVSparseConvolution)
    except ImportError:
        pass
    return tuple(types)


def is_lora_key(key: str) -> bool:
    """Whether a state-dict key belongs to a LoRA adapter."""
    return '.lora_' in key


@MODELS.register_module()
class LoRAFinetune(LinearProbe):
    """LoRA adapters (Hu et al. 2022, via ``peft``) on the encoders; the head trains fully.

    Every other parameter is frozen and its batch-norm layers stay in eval mode, as in
    :class:`~mmssl.models.finetune.LinearProbe`. The survey (Sec. 7.1) gives rank 16-32 for
    200-2,000 labelled frames (1-5% of the parameters trainable on ViTs, where it targets the
    attention query/value/output projections); on the project's small conv encoders the same
    rank is a larger share (the tests bound it per model).

    Args:
        rank: LoRA rank ``r``.
        alpha: LoRA ``alpha``; the update is scaled by ``alpha / rank`` (default ``alpha = rank``,
            scale 1).
        dropout: Dropout on the adapter input.
        target_modules: Regular expressions; a layer gets an adapter when ``re.match`` finds one
            of them at the start of its dotted name (``'img_backbone'``,
            ``r'img_backbone\\.layer[34]'``, ``r'.*attn\\.(q|v)_proj$'``). Default: every
            supported layer (:data:`LORA_LAYER_TYPES`) outside ``trainable``.
        trainable: Modules trained fully (default: the heads, :data:`DEFAULT_HEADS`).
        norm_eval: Keep frozen batch-norm layers in eval mode.
    """

    def __init__(
        self,
        rank: int = 16,
        alpha: float | None = None,
        dropout: float = 0.0,
        target_modules: Sequence[str] | None = None,
        trainable: Sequence[str] = DEFAULT_HEADS,
        norm_eval: bool = True,
    ) -> None:
        super().__init__(trainable=trainable, norm_eval=norm_eval)
        if rank < 1:
            raise ValueError(f'LoRA rank must be >= 1, got {rank}')
        self.rank, self.alpha, self.dropout = int(rank), float(alpha or rank), float(dropout)
        self.target_modules = None if target_modules is None else [re.compile(p) for p in target_modules]
        self.targets: list[str] = []

    def select_targets(self, model: nn.Module) -> list[str]:
        """Names of the layers that get an adapter."""
        return [
            name
            for name, module in model.named_modules()
            if isinstance(module, LORA_LAYER_TYPES)
            and not in_modules(name, self.trainable)
            and (self.target_modules is None or any(p.match(name) for p in self.target_modules))
        ]

    def apply(self, model: nn.Module) -> None:
        from peft import LoraConfig, inject_adapter_in_model

        self.targets = self.select_targets(model)
        if not self.targets:
            raise ValueError(f'LoRAFinetune: no {LORA_LAYER_TYPES} layer matches {self.target_modules}')
        sparse = _sparse_conv_types()
        unwrapped = [
            name
            for name, module in model.named_modules()
            if sparse and isinstance(module, sparse) and not in_modules(name, self.trainable)
        ]
        config = LoraConfig(
            r=self.rank,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=self.targets,
            bias='none',
        )
        inject_adapter_in_model(config, model)
        self.freeze(model)  # also resets what peft marked trainable
        for name, param in model.named_parameters():
            if is_lora_key(name):
                param.requires_grad_(True)
        if unwrapped:
            count = sum(
                p.numel()
                for n, p in model.named_parameters()
                if in_modules(n, unwrapped) and not p.requires_grad
            )
            print_log(
                f'LoRAFinetune: peft cannot wrap sparse convolutions; {len(unwrapped)} spconv layers '
                f'({count:,} parameters) stay frozen (list their module in `trainable` to train it fully)',
                logger='current',
            )
        print_log(f'LoRAFinetune: rank {self.rank} adapters on {len(self.targets)} layers', logger='current')
        self.log_summary(model)

    def after_init_weights(self, model: nn.Module) -> None:
        """Restore LoRA's init (A Kaiming-uniform, B zero) that MMEngine's ``Conv2d`` init rules
        overwrite (peft's wrappers and ``lora_A``/``lora_B`` are ``Conv2d`` by name), so the
        fine-tune starts exactly at the base model."""
        from peft.tuners.lora import LoraLayer

        for module in model.modules():
            if isinstance(module, LoraLayer):
                for adapter in module.active_adapters:
                    module.reset_lora_parameters(adapter, True)


def adapter_state_dict(model: nn.Module) -> dict[str, Tensor]:
    """What a LoRA fine-tune changed: the adapters and the modules it trained fully.

    Args:
        model: A detector built with ``finetune_strategy=dict(type='LoRAFinetune', ...)``.

    Returns:
        State-dict entries of the LoRA adapters and of the strategy's ``trainable`` modules
        (their buffers included, e.g. the head's batch-norm statistics), detached.
    """
    strategy = model.finetune_strategy
    if not isinstance(strategy, LoRAFinetune):
        raise TypeError(f'adapter_state_dict needs a LoRAFinetune model, got {type(strategy).__name__}')
    return {
        k: v.detach().clone()
        for k, v in model.state_dict().items()
        if is_lora_key(k) or in_modules(k, strategy.trainable)
    }


def load_adapter(model: nn.Module, state_dict: dict[str, Tensor]) -> None:
    """Load :func:`adapter_state_dict` output into a LoRA model whose base weights are loaded.

    Values are copied into the model's tensors (torch's ``load_state_dict`` would hand spconv
    weights to MMDet3D's spconv-1 layout conversion).

    Raises:
        KeyError: a key the model does not have (another rank, targets or detector).
        ValueError: a shape that differs from the model's.
    """
    own = model.state_dict()
    unknown = [k for k in state_dict if k not in own]
    if unknown:
        raise KeyError(f'adapter keys the model does not have: {unknown[:5]}')
    wrong = [k for k, v in state_dict.items() if own[k].shape != v.shape]
    if wrong:
        raise ValueError(f'adapter shapes differ from the model: {wrong[:5]}')
    with torch.no_grad():
        for key, value in state_dict.items():
            own[key].copy_(value)


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every LoRA adapter into its base layer and remove the peft wrappers, in place.

    After merging the detector has the plain structure (``<layer>.weight`` keys), so its state
    dict loads into the config without ``finetune_strategy``; its outputs equal the unmerged
    model's up to floating-point rounding.

    Returns:
        ``model``.
    """
    from peft.tuners.lora import LoraLayer

    wrapped = [(name, module) for name, module in model.named_modules() if isinstance(module, LoraLayer)]
    for name, module in wrapped:
        module.merge(safe_merge=True)
        parent_name, _, child = name.rpartition('.')
        parent = model.get_submodule(parent_name) if parent_name else model
        parent.add_module(child, module.get_base_layer())
    return model
