"""Dense renderings of a rendering method's views, for visual feedback (shared by NeRF/SDF methods)."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Dict, List, NamedTuple, Sequence

import torch
from torch import Tensor, nn

from mmssl.models.ray_samplers import RenderContext
from mmssl.models.renderers import FieldFn, render_in_chunks


class RenderView(NamedTuple):
    """One rendered view family of a method: its ray sampler, renderer and whether it has colour."""

    sampler: nn.Module
    renderer: nn.Module
    with_color: bool


class NeuralRenderingMixin(metaclass=ABCMeta):
    """``render_maps`` for a :class:`~.multimodal.MultiModalSelfSupervisor` that renders a field.

    A subclass provides :meth:`render_views` (name -> :class:`RenderView`) and :meth:`field_of`
    (masked inputs -> ``FieldFn``); every sampler of a view implements ``dense(ctx, stride,
    cams)`` returning a bundle with a ``grid``.
    """

    @abstractmethod
    def render_views(self, ctx: RenderContext) -> Dict[str, RenderView]:
        """The views to render densely for a render context, in display order."""

    @abstractmethod
    def field_of(self, inputs: dict, data_samples: Sequence) -> FieldFn:
        """The field of the (masked) inputs."""

    @staticmethod
    def loss_terms(
        name: str, loss, pred: Tensor, target: Tensor, valid: Tensor | None, diag: str
    ) -> Dict[str, Tensor]:
        """``loss_<name>`` (weighted) and its unweighted value ``<diag>`` (logged only) of a
        ``MaskedLpLoss``-like loss."""
        return {
            f'loss_{name}': loss(pred, target, valid),
            diag: loss.unweighted(pred, target, valid).detach(),
        }

    @torch.no_grad()
    def render_maps(
        self,
        inputs: dict,
        data_samples: List,
        stride: int = 4,
        cams: List[int] | None = None,
        chunk: int = 8192,
    ) -> Dict[str, Tensor]:
        """Dense renderings of the first sample beside their targets.

        Args:
            inputs, data_samples: preprocessed batch (as for ``loss``).
            stride: perspective maps are rendered every ``stride`` target pixels.
            cams: camera indices to render (default all).
            chunk: rays per renderer call.

        Returns:
            CPU tensors per view ``<name>``: ``<name>_depth``/``<name>_depth_target``
            ``(V, h, w)`` metres and, for colour views, ``<name>_rgb``/``<name>_rgb_target``/
            ``<name>_input`` (the masked input) ``(V, 3, h, w)`` in [0, 1].
        """
        masked = self.mask_inputs(inputs, data_samples)
        ds = data_samples[:1]
        first = {k: (v[:1] if isinstance(v, (Tensor, list)) else v) for k, v in masked.inputs.items()}
        if self.with_lidar:
            first['voxels'] = self.data_preprocessor.voxelize(first['points'], ds)
        field = self.field_of(first, ds)
        one = {k: (v[:1] if isinstance(v, (Tensor, list)) else v) for k, v in inputs.items()}
        ctx = self.render_context(
            one, ds, masked._replace(inputs=first, masked_points=masked.masked_points[:1])
        )
        out: Dict[str, Tensor] = {}
        for name, view in self.render_views(ctx).items():
            bundle = view.sampler.dense(ctx, stride, cams)
            v, h, w = bundle.grid
            r = render_in_chunks(
                view.renderer, field, bundle.origins, bundle.directions, view.with_color, chunk
            )
            out[f'{name}_depth'] = r['depth'].view(v, h, w)
            out[f'{name}_depth_target'] = bundle.targets['depth'].view(v, h, w)
            if 'rgb' in r:
                out[f'{name}_rgb'] = r['rgb'].view(v, h, w, 3).permute(0, 3, 1, 2)
            if view.with_color or 'rgb' in r:
                out[f'{name}_rgb_target'] = bundle.targets['rgb'].view(v, h, w, 3).permute(0, 3, 1, 2)
                if 'imgs' in first and ctx.colour is not None:
                    vis = self.colour_image(first['imgs'])[0]
                    idx = list(range(vis.shape[0])) if cams is None else list(cams)
                    out[f'{name}_input'] = torch.stack([vis[c, :, ::stride, ::stride] for c in idx])[
                        ..., :h, :w
                    ]
        return {k: t.detach().float().cpu() for k, t in out.items()}

    def predict(self, inputs: dict, data_samples: List) -> List:
        """Attach :meth:`render_maps` of the first sample as ``data_samples[0].rendered``."""
        from mmengine.structures import BaseDataElement

        data_samples[0].rendered = BaseDataElement(**self.render_maps(inputs, data_samples))
        return data_samples
