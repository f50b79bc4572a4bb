"""Run the feature-quality probe on a detector config: frozen BEV features -> probe + spectrum.

The detector is built from its config, initialised (a pre-training or detector checkpoint
through the config's ``init_from`` prefix map, or its random init with ``seed``), frozen
(``eval()``, no gradients) and run through its own feature extraction (``extract_feat``) on
the config's test pipeline. Forward hooks capture the BEV maps ``(B, C, Y, X)`` of the named
modules (default: the encoders pre-training hands over, ``view_transform`` and
``pts_middle_encoder``, where the model has them); maps of different sizes are average-pooled
to the coarsest one and concatenated. The name ``extract_feat`` stands for the first level of
what ``extract_feat`` returns (the BEV the detection head consumes). The probe and the
spectrum are :mod:`mmssl.benchmarks.probe`'s.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from mmssl.utils.atomic_io import atomic_write_bytes

from .probe import (
    BEVGrid,
    embedding_spectrum,
    fit_linear_probe,
    occupied_cells,
    plot_spectra,
    probe_metrics,
    rasterise_boxes,
)

DEFAULT_MODULES = ('view_transform', 'pts_middle_encoder')
EXTRACT_FEAT = 'extract_feat'


def build_frozen_model(cfg, checkpoint: str | None, seed: int = 0):
    """The config's detector, weight-initialised, ``checkpoint`` loaded, in eval mode."""
    from mmengine.runner import load_checkpoint

    from mmssl.registry import MODELS

    torch.manual_seed(seed)
    model_cfg = cfg.model.copy()
    init_from = model_cfg.get('init_from')
    if checkpoint is not None and init_from is not None:
        model_cfg['init_from'] = dict(init_from, checkpoint=checkpoint)
    elif init_from is not None:
        model_cfg['init_from'] = dict(init_from, checkpoint=None)
    model = MODELS.build(model_cfg)
    model.init_weights()
    if checkpoint is not None and init_from is None:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=False)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def build_loader(cfg, ann_file: str, data_root: str | None, max_frames: int | None):
    """Test-pipeline dataloader (batch 1, fixed order) over ``ann_file``; returns (loader, dataset)."""
    from mmengine.runner import Runner

    loader_cfg = cfg.test_dataloader.copy()
    dataset_cfg = loader_cfg['dataset'].copy()
    # A path that exists as given is made absolute (MMEngine joins relative ones to data_root).
    dataset_cfg['ann_file'] = str(Path(ann_file).resolve()) if Path(ann_file).exists() else str(ann_file)
    if data_root is not None:
        dataset_cfg['data_root'] = str(data_root)
    if max_frames:
        dataset_cfg['indices'] = int(max_frames)
    loader_cfg.update(
        batch_size=1,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dataset_cfg,
    )
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    return loader, loader.dataset


def _extract(model, inputs: dict, samples: list):
    """The detector's own feature extraction, in the signature its class takes."""
    from mmdet3d.models.detectors import MVXTwoStageDetector

    if isinstance(model, MVXTwoStageDetector):
        img_feats, pts_feats = model.extract_feat(inputs, [s.metainfo for s in samples])
        return pts_feats if pts_feats is not None else img_feats
    return model.extract_feat(inputs, samples)


def _bev_map(name: str, value) -> torch.Tensor:
    if isinstance(value, (list, tuple)):
        value = value[0]
    if not torch.is_tensor(value) or value.dim() != 4:
        shape = tuple(value.shape) if torch.is_tensor(value) else type(value).__name__
        raise ValueError(f'module {name!r}: expected a BEV map (B, C, Y, X), got {shape}')
    return value


def extract_cells(model, loader, dataset, modules, grid_range, num_classes: int, log_every: int = 20) -> dict:
    """Per-cell features, GT classes and LiDAR occupancy of every frame of ``loader``.

    Returns:
        ``dict(feats (N, C), labels (N,), occupied (N,), slices {module: (start, stop)},
        grid (ny, nx), frames)`` with ``N`` = frames x cells.
    """
    captured: dict = {}
    handles = []
    for name in modules:
        if name == EXTRACT_FEAT:
            continue
        module = dict(model.named_modules()).get(name)
        if module is None:
            raise KeyError(
                f'the model has no module {name!r} to probe '
                f'(its modules: {[n for n, _ in model.named_children()]})'
            )
        handles.append(
            module.register_forward_hook(lambda _m, _i, out, name=name: captured.__setitem__(name, out))
        )
    feats, labels, occupied = [], [], []
    slices: dict = {}
    grid = None
    try:
        with torch.no_grad():
            for idx, batch in enumerate(loader):
                captured.clear()
                data = model.data_preprocessor(batch, False)
                out = _extract(model, data['inputs'], data['data_samples'])
                if EXTRACT_FEAT in modules:
                    captured[EXTRACT_FEAT] = out
                maps = [_bev_map(n, captured[n]) for n in modules]
                ny, nx = min(m.shape[2] for m in maps), min(m.shape[3] for m in maps)
                maps = [F.adaptive_avg_pool2d(m, (ny, nx)) if m.shape[2:] != (ny, nx) else m for m in maps]
                start = 0
                for n, m in zip(modules, maps):
                    slices[n] = (start, start + m.shape[1])
                    start += m.shape[1]
                fmap = torch.cat(maps, 1)[0].float().cpu()
                grid = BEVGrid(*grid_range, ny=ny, nx=nx)
                ann = dataset.parse_ann_info(dataset.get_data_info(idx))
                boxes = ann['gt_bboxes_3d'].tensor if len(ann['gt_bboxes_3d']) else torch.zeros(0, 7)
                target = rasterise_boxes(boxes, torch.as_tensor(ann['gt_labels_3d']), grid, num_classes)
                points = data['inputs'].get('points')
                occ = (
                    occupied_cells(points[0].cpu(), grid)
                    if points is not None
                    else torch.ones(ny, nx, dtype=torch.bool)
                )
                feats.append(fmap.flatten(1).T)
                labels.append(target.flatten())
                occupied.append(occ.flatten())
                if log_every and (idx + 1) % log_every == 0:
                    print(f'  features of {idx + 1}/{len(loader)} frames', flush=True)
    finally:
        for h in handles:
            h.remove()
    if not feats:
        raise ValueError('the probe dataset has no frames')
    return dict(
        feats=torch.cat(feats),
        labels=torch.cat(labels),
        occupied=torch.cat(occupied),
        slices=slices,
        grid=(grid.ny, grid.nx),
        frames=len(feats),
    )


def grid_range_of(cfg, modules) -> list[float]:
    """``[x_min, y_min, x_max, y_max]`` covered by the BEV maps of ``modules``.

    A module configured with ``xbound``/``ybound`` (an LSS view transform) covers those; any
    other module (and ``extract_feat`` of a model with a LiDAR branch) the config's
    ``point_cloud_range``; ``extract_feat`` of a camera-only model its view transform's bounds.

    Raises:
        KeyError: a range is not in the config.
        ValueError: the modules cover different ranges (their cells would not line up).
    """
    model = cfg.model

    def bounds(name):
        mcfg = model.get(name) or {}
        if 'xbound' in mcfg and 'ybound' in mcfg:
            return [
                float(mcfg.xbound[0]),
                float(mcfg.ybound[0]),
                float(mcfg.xbound[1]),
                float(mcfg.ybound[1]),
            ]
        pcr = cfg.get('point_cloud_range')
        if pcr is None:
            raise KeyError(f'{cfg.filename}: no point_cloud_range; pass --bev-range X_MIN Y_MIN X_MAX Y_MAX')
        return [float(pcr[0]), float(pcr[1]), float(pcr[3]), float(pcr[4])]

    ranges = {}
    for name in modules:
        if name == EXTRACT_FEAT:
            camera_only = model.get('view_transform') is not None and model.get('pts_middle_encoder') is None
            ranges[name] = bounds('view_transform' if camera_only else EXTRACT_FEAT)
        else:
            ranges[name] = bounds(name)
    first = next(iter(ranges.values()))
    if any(max(abs(a - b) for a, b in zip(r, first)) > 1e-6 for r in ranges.values()):
        raise ValueError(f'the probed modules cover different BEV ranges {ranges}; probe them one at a time')
    return first


def run_probe(
    cfg,
    checkpoint: str | None,
    train_ann: str,
    val_ann: str,
    out_dir: str | Path,
    data_root: str | None = None,
    modules=None,
    max_train_frames: int | None = None,
    max_val_frames: int | None = None,
    bev_range=None,
    seed: int = 0,
) -> dict:
    """Probe and spectrum of a config's frozen features; writes ``probe.json`` and ``spectrum.png``.

    Args:
        cfg: The detector config (``mmengine.Config``).
        checkpoint: Pre-training or detector checkpoint (None: the random init of ``seed``).
        train_ann / val_ann: Info files of the labelled frames that fit / score the probe.
        out_dir: Output folder.
        data_root: Dataset root instead of the config's.
        modules: Module names whose BEV maps are probed (default :data:`DEFAULT_MODULES`
            that the model has, else ``extract_feat``).
        max_train_frames / max_val_frames: Use only the first frames of each file.
        bev_range: ``[x_min, y_min, x_max, y_max]`` of the maps (default:
            :func:`grid_range_of`).
        seed: Seed of the random init and of nothing else.
    """
    t0 = time.time()
    out_dir = Path(out_dir)
    model = build_frozen_model(cfg, checkpoint, seed)
    if not modules:
        names = dict(model.named_children())
        modules = [m for m in DEFAULT_MODULES if m in names] or [EXTRACT_FEAT]
    modules = list(modules)
    grid_range = list(bev_range) if bev_range else grid_range_of(cfg, modules)
    cells = {}
    for split, ann, cap in (('train', train_ann, max_train_frames), ('val', val_ann, max_val_frames)):
        loader, dataset = build_loader(cfg, ann, data_root, cap)
        classes = list(dataset.metainfo['classes'])
        cells[split] = extract_cells(model, loader, dataset, modules, grid_range, len(classes))
    num_classes = len(classes)
    train, val = cells['train'], cells['val']
    probe = fit_linear_probe(train['feats'], train['labels'], num_classes)
    metrics = probe_metrics(probe.predict(val['feats']), val['labels'], num_classes, classes)
    train_metrics = probe_metrics(probe.predict(train['feats']), train['labels'], num_classes, classes)
    # Spectrum: the validation embeddings of non-empty cells, all modules together and each alone.
    emb = val['feats'][val['occupied']] if int(val['occupied'].sum()) >= 2 else val['feats']
    spectra = {'all': embedding_spectrum(emb)}
    standardized = {'all': embedding_spectrum(emb, standardize=True)}
    if len(modules) > 1:
        for name, (a, b) in val['slices'].items():
            spectra[name] = embedding_spectrum(emb[:, a:b])
            standardized[name] = embedding_spectrum(emb[:, a:b], standardize=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_spectra(
        spectra, out_dir / 'spectrum.png', title=f'{Path(cfg.filename).name}: {checkpoint or "random init"}'
    )
    result = dict(
        config=cfg.filename,
        checkpoint=checkpoint,
        seed=seed,
        modules=modules,
        feature_channels={n: b - a for n, (a, b) in val['slices'].items()},
        grid=list(val['grid']),
        bev_range=grid_range,
        train=dict(ann_file=str(train_ann), frames=train['frames'], cells=int(train['labels'].numel())),
        val=dict(ann_file=str(val_ann), frames=val['frames'], spectrum_cells=int(emb.shape[0])),
        probe=metrics,
        probe_train=train_metrics,
        spectrum={
            k: dict(
                effective_rank=s['effective_rank'],
                auc=s['auc'],
                dim=s['dim'],
                samples=s['samples'],
                explained_ratio=s['explained_ratio'],
                top_channel_variance_share=max(s['channel_variance_share']),
                standardized=dict(
                    effective_rank=standardized[k]['effective_rank'],
                    auc=standardized[k]['auc'],
                    dim=standardized[k]['dim'],
                ),
            )
            for k, s in spectra.items()
        },
        wall_s=round(time.time() - t0, 1),
    )
    atomic_write_bytes(json.dumps(result, indent=2).encode(), out_dir / 'probe.json')
    return result


def summary_lines(result: dict) -> list[str]:
    """Human-readable lines of a :func:`run_probe` result."""
    p = result['probe']

    def fmt(v):
        return '-' if v is None else f'{v:.2f}'

    lines = [
        f'linear BEV probe on {"+".join(result["modules"])} '
        f'({sum(result["feature_channels"].values())} channels, '
        f'{result["grid"][0]}x{result["grid"][1]} cells), fitted on {result["train"]["frames"]} frames, '
        f'scored on {result["val"]["frames"]}:',
        f'  occupancy IoU {fmt(p["occupancy_IoU"])}  mIoU {fmt(p["mIoU"])}  accuracy {fmt(p["accuracy"])}  '
        f'balanced accuracy {fmt(p["balanced_accuracy"])}  (%)',
        '  per-class IoU: ' + ', '.join(f'{k} {v:.1f}' for k, v in p['per_class_IoU'].items()),
        f'embedding spectrum ({result["val"]["spectrum_cells"]} non-empty val cells):',
    ]
    for name, s in result['spectrum'].items():
        lines.append(
            f'  {name}: effective rank {s["effective_rank"]:.2f} of {s["dim"]}, '
            f'explained-variance AUC {s["auc"]:.4f}; largest channel '
            f'{100 * s["top_channel_variance_share"]:.1f}% of the variance; channels scaled to unit '
            f'variance: effective rank '
            f'{s["standardized"]["effective_rank"]:.2f} of {s["standardized"]["dim"]}'
        )
    lines.append(f'({result["wall_s"]:.0f} s)')
    return lines
