"""The NeuS cosine-annealing schedule of SDF renderers (NeuS Sec. 3.4; UniPAD keeps it at 1)."""

from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmssl.models.renderers import NeuSDensity
from mmssl.registry import HOOKS


@HOOKS.register_module()
class NeuSCosAnnealHook(Hook):
    """Set ``cos_anneal_ratio = min(1, iter / anneal_end)`` on every :class:`NeuSDensity` of the model.

    NeuS anneals the slope estimate of its opacity from a surface-agnostic one (0) to the true
    cosine (1) over the first ``anneal_end`` iterations (NeuS: 50k). The official UniPAD code
    fixes the ratio at 1 (its ``anneal_end`` is unused), which is what a config without this hook
    gets. The ratio is logged as ``cos_anneal_ratio``.

    Args:
        anneal_end: iterations until the ratio reaches 1 (> 0).
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, anneal_end: int) -> None:
        if anneal_end <= 0:
            raise ValueError(f'NeuSCosAnnealHook: anneal_end must be positive, got {anneal_end}')
        self.anneal_end = int(anneal_end)

    def ratio(self, iteration: int) -> float:
        """The ratio at ``iteration``."""
        return min(1.0, iteration / self.anneal_end)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        densities = [m for m in model.modules() if isinstance(m, NeuSDensity)]
        if not densities:
            raise RuntimeError(f'NeuSCosAnnealHook: {type(model).__name__} has no NeuSDensity')
        r = self.ratio(runner.iter)
        for density in densities:
            density.cos_anneal_ratio = r
        runner.message_hub.update_scalar('train/cos_anneal_ratio', r)
