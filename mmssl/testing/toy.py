"""A tiny regression task for testing the training machinery (launchers, resume, AMP).

It exercises MMEngine's Runner exactly as a real config does (dataset -> dataloader ->
model -> optimizer wrapper -> hooks -> checkpoints) but in milliseconds, so the launcher
and crash/resume tests can run several processes on a 2-core machine. Import it from a
config with ``custom_imports=dict(imports=['mmssl.testing.toy'])``.
"""

from __future__ import annotations

import os
import time

import torch
from mmengine.dist import get_rank
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from torch import nn
from torch.utils.data import Dataset

from mmssl.registry import DATASETS, HOOKS, METRICS, MODELS


@DATASETS.register_module()
class ToyRegressionDataset(Dataset):
    """Samples of ``y = x @ w_true + 0.5`` with a fixed seed.

    Args:
        num_samples: Dataset length.
        dim: Input dimension.
        seed: Seed of the inputs and of the true weights.
        delay_s: Seconds each ``__getitem__`` sleeps (to make a run slow enough to kill).
    """

    def __init__(self, num_samples: int = 64, dim: int = 8, seed: int = 0, delay_s: float = 0.0):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(num_samples, dim, generator=g)
        w_true = torch.randn(dim, 1, generator=g)
        self.y = self.x @ w_true + 0.5
        self.delay_s = delay_s

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, idx: int) -> dict:
        if self.delay_s:
            time.sleep(self.delay_s)
        return dict(inputs=self.x[idx], targets=self.y[idx])


@MODELS.register_module()
class ToyRegressor(BaseModel):
    """A two-layer MLP regressor returning an MSE loss.

    Args:
        dim: Input dimension.
        hidden: Hidden width.
        noise_std: Std of Gaussian noise added to the inputs in training, drawn from torch's
            global generator (a stand-in for a model's random masks/rays in resume tests).
        aux_weight: Weight of a second loss term ``loss_aux = mean(pred^2)`` (0: none).
    """

    def __init__(
        self, dim: int = 8, hidden: int = 16, noise_std: float = 0.0, aux_weight: float = 0.0
    ) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.noise_std = noise_std
        self.aux_weight = aux_weight
        self.poison: str | None = None  # set by PoisonHook: 'loss' or 'grad'

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor, mode: str = 'loss'):
        if mode == 'loss' and self.noise_std:
            # Draws from torch's global generator, like NS-MAE's masks and rays.
            inputs = inputs + self.noise_std * torch.randn_like(inputs)
        pred = self.net(inputs)
        if mode == 'loss':
            if self.poison == 'grad':  # finite loss, NaN gradients
                pred.register_hook(lambda g: g * float('nan'))
            losses = dict(loss_mse=torch.mean((pred.float() - targets) ** 2))
            if self.poison == 'loss':
                losses['loss_mse'] = losses['loss_mse'] * float('nan')
            if self.aux_weight:
                losses['loss_aux'] = self.aux_weight * torch.mean(pred.float() ** 2)
            return losses
        return [dict(pred=p, target=t) for p, t in zip(pred, targets)]


@MODELS.register_module()
class ToyLayeredRegressor(BaseModel):
    """A regressor with named layer groups for fine-tuning tests: ``stem`` (linear + batch
    norm), ``block`` (linear + batch norm), ``head`` (linear); MSE loss.

    Args:
        dim: Input dimension.
        hidden: Hidden width.
    """

    def __init__(self, dim: int = 8, hidden: int = 16) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Linear(dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU())
        self.block = nn.Sequential(nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.ReLU())
        self.head = nn.Linear(hidden, 1)

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor, mode: str = 'loss'):
        pred = self.head(self.block(self.stem(inputs)))  # (B, 1)
        if mode == 'loss':
            return dict(loss_mse=torch.mean((pred - targets) ** 2))
        return [dict(pred=p, target=t) for p, t in zip(pred, targets)]


@METRICS.register_module()
class ToyMSEMetric(BaseMetric):
    """Mean squared error of :class:`ToyRegressor` predictions (key ``mse``)."""

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            self.results.append(float((sample['pred'] - sample['target']).pow(2).sum()))

    def compute_metrics(self, results: list) -> dict:
        return dict(mse=sum(results) / len(results))


@HOOKS.register_module()
class PoisonHook(Hook):
    """Make :class:`ToyRegressor`'s loss (``'loss'``) or gradients (``'grad'``) NaN at given iterations.

    Args:
        loss_iters: 1-based iterations whose loss is NaN.
        grad_iters: 1-based iterations whose loss is finite but gradients are NaN.
    """

    def __init__(self, loss_iters: tuple = (), grad_iters: tuple = ()) -> None:
        self.loss_iters = set(loss_iters)
        self.grad_iters = set(grad_iters)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        it = runner.iter + 1
        model.poison = 'loss' if it in self.loss_iters else 'grad' if it in self.grad_iters else None


@HOOKS.register_module()
class DumpStateHook(Hook):
    """Write ``iter``, parameters and optimizer state to ``<work_dir>/state_<when>_rank<r>.pt``.

    ``before_train`` runs after MMEngine has resumed a checkpoint, so its dump shows what a
    resumed run continues from; ``after_train`` shows where each rank ended.
    """

    def _dump(self, runner, when: str) -> None:
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        state = dict(
            iter=runner.iter,
            params={k: v.detach().clone() for k, v in model.state_dict().items()},
            optimizer=runner.optim_wrapper.state_dict(),
        )
        torch.save(state, os.path.join(runner.work_dir, f'state_{when}_rank{get_rank()}.pt'))

    def before_train(self, runner) -> None:
        self._dump(runner, 'before_train')

    def after_train(self, runner) -> None:
        self._dump(runner, 'after_train')


def toy_reference_mse(
    checkpoint: str | os.PathLike, num_samples: int = 16, dim: int = 8, hidden: int = 16, seed: int = 0
) -> float:
    """Mean squared error of a saved :class:`ToyRegressor`, computed here from its weights.

    A reference for what ``ToyMSEMetric`` must report when a tool tests that checkpoint on
    ``ToyRegressionDataset(num_samples, dim, seed)``: the per-sample squared error summed
    over the output, averaged over the samples. It uses neither the metric, nor the test
    loop, nor MMEngine's checkpoint loading.

    Args:
        checkpoint: ``.pth`` written by MMEngine's ``CheckpointHook`` (``state_dict`` key).
        num_samples: Test dataset length.
        dim: Input dimension.
        hidden: Hidden width of the regressor.
        seed: Dataset seed.

    Returns:
        The mean squared error.
    """
    state = torch.load(checkpoint, map_location='cpu')['state_dict']
    net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))
    net.load_state_dict({k.removeprefix('net.'): v for k, v in state.items()})
    data = ToyRegressionDataset(num_samples=num_samples, dim=dim, seed=seed)
    with torch.no_grad():
        err = (net(data.x) - data.y).pow(2).sum(dim=1)  # (N,)
    return float(err.mean())
