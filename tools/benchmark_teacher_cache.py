"""Step time of a DINOv2-teacher distillation step with the live teacher vs the feature cache.

One run on a generated synthetic nuScenes world (``mmssl.datasets.synthetic``): builds the teacher
feature cache (build rate, size per frame), loads one augmented batch through the synthetic
pre-training pipeline (``configs/_base_/datasets/synthetic_nus_pretrain.py``, with
``keep_ori_img=True`` so the live teacher sees the raw images), then times ``--steps`` training
steps of a small point student (per-point MLP) whose loss is ``1 - cos`` to
:class:`~mmssl.models.target_generators.PointFeatureTargets` (teacher features at the points,
mean over cameras): targets + forward + backward + SGD step, once with the live teacher and once
with the cache. The data pipeline is outside the timed region. The teacher is a randomly
initialised ViT (``--arch``, default DINOv2 ViT-S/14): the cost, not the values, matters here.

    python tools/benchmark_teacher_cache.py [--input-size 112 224] [--frames 2] [--steps 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--arch', default='vit_small_patch14_dinov2', help='timm DINOv2 arch (random init)')
    p.add_argument('--input-size', type=int, nargs=2, default=[112, 224], metavar=('H', 'W'))
    p.add_argument(
        '--img-size', type=int, nargs=2, default=[90, 160], metavar=('H', 'W'), help='camera images'
    )
    p.add_argument('--frames', type=int, default=2, help='frames in the world (= batch size)')
    p.add_argument('--steps', type=int, default=3, help='timed steps per mode (after one warm-up step)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--dtype', default='fp32', help="teacher precision ('fp16' on CUDA)")
    p.add_argument('--work-dir', default=None, help='where the world and the cache go (default: a temp dir)')
    return p.parse_args(argv)


def _step(student, opt, gen, points, samples):
    targets, valid = gen(points, samples)
    pred = torch.cat([student(p) for p in points])
    tgt, ok = torch.cat(targets), torch.cat(valid)
    loss = (1 - nn.functional.cosine_similarity(pred[ok], tgt[ok], dim=1)).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.detach())


def _time(student, opt, gen, points, samples, steps, device):
    _step(student, opt, gen, points, samples)  # warm-up
    times = []
    for _ in range(steps):
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        _step(student, opt, gen, points, samples)
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(args) -> dict:
    import timm
    from mmengine.config import Config

    from mmssl.datasets.synthetic import create_infos, generate_world
    from mmssl.models.target_generators import PointFeatureTargets
    from mmssl.models.target_generators.cache_builder import build_feature_cache
    from mmssl.testing.synthetic_batch import dataset_batch
    from mmssl.utils import register_all_modules

    register_all_modules()
    tmp = None
    if args.work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix='teacher_cache_bench_')
        work = Path(tmp.name)
    else:
        work = Path(args.work_dir)
        work.mkdir(parents=True, exist_ok=True)
    root = work / 'world'
    summary = generate_world(
        root,
        scenes=2,
        samples_per_scene=args.frames,
        seed=0,
        img_size=tuple(args.img_size),
        workers=1,
        progress=False,
    )
    infos = create_infos(root, summary['version'], quiet=True)
    world = dict(root=root, train_info=infos['train'])

    torch.manual_seed(0)
    vit = timm.create_model(args.arch, pretrained=False, img_size=518, num_classes=0)
    weights = work / f'{args.arch}.pth'
    torch.save(vit.state_dict(), weights)
    del vit
    teacher = dict(
        type='DINOv2Teacher',
        arch=args.arch,
        checkpoint=str(weights),
        input_size=list(args.input_size),
        dtype=args.dtype,
    )
    cfg = Config.fromfile(str(REPO / 'configs/_base_/datasets/synthetic_nus_pretrain.py'))
    cfg.train_dataloader.dataset.update(data_root=str(root), ann_file=str(world['train_info']))
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'LoadSSLMultiViewImages':
            t['keep_ori_img'] = True
    cache_root = work / 'cache'
    cfg.model = dict(
        target_generator=dict(type='CachedTeacherFeatures', teacher=teacher, cache_root=str(cache_root))
    )
    stats = build_feature_cache(cfg, device=args.device, progress=False)
    if stats['failed'] or not stats['computed']:
        raise RuntimeError(f'cache build failed: {stats}')

    np.random.seed(0)
    batch = dataset_batch(cfg, world, indices=tuple(range(stats['samples'])))
    samples = batch['data_samples']
    points = [p[:, :4].float().to(args.device) for p in batch['inputs']['points']]
    for s in samples:
        s.ssl_targets.ori_img = s.ssl_targets.ori_img.to(args.device)
    gen_cfg = cfg.model.target_generator
    live = PointFeatureTargets(features=dict(gen_cfg, cache_root=None)).to(args.device)
    cached = PointFeatureTargets(features=gen_cfg).to(args.device)
    channels = live.features.teacher.out_channels

    # live and cached targets agree (fp16 storage)
    t_live, v_live = live(points, samples)
    t_cache, v_cache = cached(points, samples)
    diff = max(float((a - b).abs().max()) for a, b in zip(t_live, t_cache))
    scale = max(float(a.abs().max()) for a in t_live)
    agree = all(torch.equal(a, b) for a, b in zip(v_live, v_cache))

    results = {}
    for name, gen in (('live', live), ('cache', cached)):
        torch.manual_seed(0)
        student = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, channels)).to(args.device)
        opt = torch.optim.SGD(student.parameters(), lr=1e-2)
        results[name] = _time(student, opt, gen, points, samples, args.steps, args.device)
    n_points = sum(len(p) for p in points)
    valid_frac = float(torch.cat(v_cache).float().mean())
    out = dict(
        step_live_s=results['live'],
        step_cache_s=results['cache'],
        ratio=results['live'] / results['cache'],
        cache_bytes_per_frame=stats['bytes'] / stats['computed'],
        build_frames_per_s=stats['computed'] / stats['seconds'],
        frames=stats['computed'],
        points=n_points,
        valid_frac=valid_frac,
        max_abs_diff=diff,
        max_abs_target=scale,
        masks_equal=agree,
    )
    if tmp is not None:
        tmp.cleanup()
    return out


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = run(args)
    cams = 6
    print(
        f'teacher {args.arch} (random init), input {args.input_size[0]}x{args.input_size[1]}, {cams} cameras '
        f'of {args.img_size[0]}x{args.img_size[1]}, batch of {out["frames"]} frames, {out["points"]} points '
        f'({out["valid_frac"]:.1%} seen by a camera), device {args.device}, torch threads '
        f'{torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs'
    )
    print(
        f'live vs cached targets: max |diff| {out["max_abs_diff"]:.3g} (max |target| '
        f'{out["max_abs_target"]:.3g}), masks equal: {out["masks_equal"]}'
    )
    print(
        f'step time (median of {args.steps}): live teacher {out["step_live_s"] * 1e3:.1f} ms, '
        f'cache {out["step_cache_s"] * 1e3:.1f} ms, ratio live/cache {out["ratio"]:.1f}x'
    )
    print(f'cache size per frame: {out["cache_bytes_per_frame"] / 1e6:.3f} MB')
    print(f'cache build rate: {out["build_frames_per_s"]:.3f} frames/s ({out["frames"]} frames)')
    return out


if __name__ == '__main__':
    main()
