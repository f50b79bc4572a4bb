"""Cost of one training step of a config: median step time and peak memory.

Run as a worker (one config per process, so the peak memory is that config's alone)::

    python -m mmssl.benchmarks.step_cost CONFIG --iters 10 --warmup 3

It builds the config's model, optimizer wrapper and training dataloader, takes ONE batch
(the first samples of the dataset, the same for every config on the same data) and times
``model.train_step`` (forward + backward + optimizer step) on it. The last line it prints is
a JSON record.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time

import torch


def _peak_memory_mb(device: str) -> float:
    if device == 'cuda':
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _batch_len(batch: dict) -> int:
    """Samples actually in the batch (a small dataset may hold fewer than the batch size)."""
    first = batch['data_samples'] if 'data_samples' in batch else next(iter(batch.values()))
    return len(first)


def measure(config: str, iters: int, warmup: int, cfg_options: dict | None = None) -> dict:
    """Median train-step time (s) after ``warmup`` steps, and peak memory (MiB)."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner

    from mmssl.registry import MODELS
    from mmssl.utils import register_all_modules

    register_all_modules()
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings

        import_modules_from_strings(**cfg.custom_imports)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    torch.manual_seed(0)
    loader_cfg = dict(cfg.train_dataloader)
    loader_cfg.update(num_workers=0, persistent_workers=False)
    loader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=False)
    batch = next(iter(Runner.build_dataloader(loader_cfg, seed=0)))
    model = MODELS.build(cfg.model).to(device)
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    times = []
    for step in range(warmup + iters):
        if device == 'cuda':
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        model.train_step(batch, optim_wrapper)
        if device == 'cuda':
            torch.cuda.synchronize()
        if step >= warmup:
            times.append(time.perf_counter() - t0)
    return dict(
        config=config,
        device=device,
        iters=iters,
        warmup=warmup,
        batch_size=_batch_len(batch),
        median_step_s=statistics.median(times),
        min_step_s=min(times),
        max_step_s=max(times),
        peak_mem_mb=round(_peak_memory_mb(device), 1),
        params_m=round(sum(p.numel() for p in model.parameters()) / 1e6, 3),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description='Time one training step of a config')
    parser.add_argument('config')
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--cfg-options', type=json.loads, default=None, help='JSON dict')
    args = parser.parse_args()
    print(json.dumps(measure(args.config, args.iters, args.warmup, args.cfg_options)), flush=True)


if __name__ == '__main__':
    main()
