"""One step of a benchmark: its subprocess, its log and the files it leaves in its work dir.

Shared by the label-efficiency harness (:mod:`.label_efficiency`) and
``tools/benchmark_detectors.py``: every step runs a project tool (``tools/train.py``,
``tools/test.py``, ...) as ``python <tool>`` from the repository root with the repository on
``PYTHONPATH``, appends its output to a log file and fails with the log's tail.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from mmssl.utils.atomic_io import atomic_write_bytes

REPO_ROOT = Path(__file__).resolve().parents[2]


_LOG_LOCK = threading.Lock()


def log(msg: str) -> None:
    """Print one progress line (whole: steps log from several threads at once)."""
    line = f'[label-efficiency {time.strftime("%H:%M:%S")}] {msg}\n'
    with _LOG_LOCK:
        sys.stdout.write(line)
        sys.stdout.flush()


def run_logged(cmd: list[str], log_file: Path, threads: int | None = None) -> None:
    """Run ``python cmd`` from the repo root, logging everything to ``log_file``.

    Args:
        cmd: Script and its arguments.
        log_file: Appended with the command line and its stdout/stderr.
        threads: ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` of the subprocess (None: inherited).
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get('PYTHONPATH')]))
    if threads is not None:
        env['OMP_NUM_THREADS'] = env['MKL_NUM_THREADS'] = str(threads)
    with open(log_file, 'a') as log:
        log.write(f'\n$ python {" ".join(cmd)}\n')
        log.flush()
        proc = subprocess.run([sys.executable, *cmd], cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
    if proc.returncode != 0:
        tail = log_file.read_text()[-3000:]
        raise RuntimeError(f'`python {" ".join(cmd)}` failed ({proc.returncode}); log {log_file}:\n{tail}')


def write_json(path: Path, obj) -> None:
    atomic_write_bytes(json.dumps(obj, indent=2, default=str).encode(), path)


def last_checkpoint(work_dir: Path) -> str | None:
    marker = work_dir / 'last_checkpoint'
    return marker.read_text().strip() if marker.exists() else None


def compute_record(work_dir: Path) -> dict:
    f = work_dir / 'compute.json'
    return json.loads(f.read_text()) if f.exists() else {}


def frac_tag(fraction: float) -> str:
    return f'{fraction:g}'


def trainable_total(work_dir: Path) -> dict:
    """The ``total`` row of a run's ``trainable_params.json`` (TrainableParamsHook), or {}."""
    f = work_dir / 'trainable_params.json'
    if not f.exists():
        return {}
    return next((r for r in json.loads(f.read_text())['modules'] if r['module'] == 'total'), {})


def summarise_nuscenes_metrics(metrics: dict) -> dict:
    """NDS, mAP (in %) and per-class AP (mean over distance thresholds) from NuScenesMetric output."""
    nds = next((v for k, v in metrics.items() if k.endswith('/NDS')), None)
    mean_ap = next((v for k, v in metrics.items() if k.endswith('/mAP')), None)
    if nds is None or mean_ap is None:
        raise KeyError(f'no NuScenesMetric NDS/mAP in the metrics: {sorted(metrics)}')
    per_class: dict[str, list[float]] = {}
    for key, value in metrics.items():
        name = key.rsplit('/', 1)[-1]
        if '_AP_dist_' in name:
            per_class.setdefault(name.split('_AP_dist_')[0], []).append(float(value))
    return dict(
        NDS=100 * float(nds),
        mAP=100 * float(mean_ap),
        per_class_AP={c: 100 * sum(v) / len(v) for c, v in sorted(per_class.items())},
    )


def evaluator_data_options(cfg, key: str, data_root: str, ann_file: str) -> list[str]:
    """``--cfg-options`` pointing a config's evaluator ``key`` (``'val_evaluator'``) at a dataset.

    A single evaluator gets ``key.data_root`` / ``key.ann_file``; a list of evaluators (e.g.
    ``NuScenesMetric`` + ``BEVSegMetric``) gets ``key.<i>.*`` for each entry that reads the
    dataset itself (one with an ``ann_file``); an evaluator that does not (``BEVSegMetric``
    alone) gets nothing.
    """
    evaluator = cfg.get(key)
    values = (('data_root', data_root), ('ann_file', ann_file))
    if isinstance(evaluator, (list, tuple)):
        idx = [i for i, e in enumerate(evaluator) if 'ann_file' in e]
        return [f'{key}.{i}.{name}={value}' for i in idx for name, value in values]
    if evaluator is not None and 'ann_file' not in evaluator:  # e.g. BEVSegMetric alone
        return []
    return [f'{key}.{name}={value}' for name, value in values]


def summarise_bev_seg_metrics(metrics: dict) -> dict:
    """BEV segmentation IoUs (in %) from ``BEVSegMetric`` output, or ``{}`` without it.

    Returns:
        ``dict(seg_mIoU=..., seg_IoU={class: ...}, IoU_<class>=...)`` (and ``seg_map_mIoU`` when the
        metric reports ``map_mIoU``): the per-class values also as flat keys, so the paired
        statistics treat them like NDS and mAP.
    """
    per_class = {
        k.rsplit('/', 2)[-2]: 100 * float(v)
        for k, v in metrics.items()
        if k.startswith('BEVSeg/') and k.endswith('/IoU')
    }
    miou = metrics.get('BEVSeg/mIoU')
    if miou is None:
        return {}
    out = dict(seg_mIoU=100 * float(miou), seg_IoU=per_class)
    if 'BEVSeg/map_mIoU' in metrics:  # BEVSegMetric(mean_groups=dict(map_mIoU=...))
        out['seg_map_mIoU'] = 100 * float(metrics['BEVSeg/map_mIoU'])
    out.update({f'IoU_{c}': v for c, v in per_class.items()})
    return out


#: ``SegMetric``'s aggregate keys; every other unprefixed key is a class name (its IoU).
SEG_METRIC_AGGREGATES = ('miou', 'acc', 'acc_cls')


def _percent(value) -> float | None:
    """``100 * value``, or ``None`` for a missing or NaN value (a class SegMetric could not score)."""
    if value is None or math.isnan(float(value)):
        return None
    return 100 * float(value)


def summarise_lidar_seg_metrics(metrics: dict) -> dict:
    """Point-wise LiDAR segmentation figures (in %) from MMDet3D's ``SegMetric``, or ``{}`` without it.

    ``SegMetric`` writes unprefixed keys: ``miou``, ``acc`` (point accuracy), ``acc_cls`` (mean
    per-class recall) and one IoU per class name. A class that is in neither the labels nor the
    predictions of the evaluation set has no IoU (``0 / 0``: NaN); ``SegMetric``'s ``miou`` is the
    mean over the other classes (``np.nanmean``), so a class that is predicted but absent from the
    labels counts with IoU 0. NaN becomes ``None`` here (valid JSON), and :mod:`.stats` leaves
    ``None`` / NaN values out of every mean, standard deviation and paired difference.

    Returns:
        ``dict(lidarseg_mIoU=..., lidarseg_acc=..., lidarseg_acc_cls=..., lidarseg_IoU={class: ...},
        IoU_<class>=...)``: the per-class IoUs also as flat keys (``None`` for NaN classes), so the
        statistics treat them like the mIoU.
    """
    if 'miou' not in metrics:
        return {}
    per_class = {
        k: _percent(v) for k, v in metrics.items() if '/' not in k and k not in SEG_METRIC_AGGREGATES
    }
    out = dict(
        lidarseg_mIoU=_percent(metrics['miou']),
        lidarseg_acc=_percent(metrics.get('acc')),
        lidarseg_acc_cls=_percent(metrics.get('acc_cls')),
        lidarseg_IoU=per_class,
    )
    out.update({f'IoU_{c}': v for c, v in per_class.items()})
    return out


def summarise_downstream_metrics(metrics: dict) -> dict:
    """A fine-tune's figures: detection (:func:`summarise_nuscenes_metrics`), BEV segmentation
    (:func:`summarise_bev_seg_metrics`) and/or LiDAR segmentation
    (:func:`summarise_lidar_seg_metrics`), whichever the model's evaluators report.

    Raises:
        KeyError: neither NuScenesMetric, BEVSegMetric nor SegMetric figures are in ``metrics``.
        ValueError: both BEVSegMetric and SegMetric figures (their per-class ``IoU_<class>`` keys
            would mix).
    """
    seg = summarise_bev_seg_metrics(metrics)
    lidarseg = summarise_lidar_seg_metrics(metrics)
    if seg and lidarseg:
        raise ValueError('the metrics hold both BEVSegMetric and SegMetric figures; use one of them')
    seg = seg or lidarseg
    if not any(k.endswith('/NDS') for k in metrics):
        if not seg:
            raise KeyError(
                'no NuScenesMetric NDS/mAP, no BEVSegMetric mIoU and no SegMetric miou in the metrics: '
                f'{sorted(metrics)}'
            )
        return seg
    return {**summarise_nuscenes_metrics(metrics), **seg}


def headline(record: dict) -> str:
    """``'NDS 4.25 mAP 0.28'`` (and ``vehicle IoU``/``map mIoU`` when present; a LiDAR segmentation
    model's ``mIoU``/``point acc``) for the progress log."""
    parts = [f'{k} {record[k]:.2f}' for k in ('NDS', 'mAP') if k in record]
    parts += [
        f'{name} {record[k]:.2f}'
        for k, name in (
            ('IoU_vehicle', 'vehicle IoU'),
            ('seg_map_mIoU', 'map mIoU'),
            ('lidarseg_mIoU', 'mIoU'),
            ('lidarseg_acc', 'point acc'),
        )
        if record.get(k) is not None
    ]
    return ' '.join(parts)
