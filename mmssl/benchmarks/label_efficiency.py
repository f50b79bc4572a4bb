"""Label-efficiency benchmark: pre-train, fine-tune on label fractions over seeds, evaluate.

Every step runs the project's own command-line tools in a subprocess (``tools/train.py``,
``tools/test.py``, ``tools/make_label_split.py``), so a benchmark run is exactly what a user
would type, each run keeps its config, log and checkpoints in its own work dir, and memory
figures are per run. Finished steps leave a marker (``done.json`` / ``result.json``) and are
not run again, so an interrupted benchmark resumes where it stopped; a half-finished training
run resumes from its last checkpoint (``--resume``).

``jobs > 1`` runs that many steps at once (a thread pool of subprocesses), each with
``cpu_count // jobs`` intra-op threads (``OMP_NUM_THREADS``): on a 2-core CPU two one-thread
runs finish more iterations per second than one two-thread run, and the scratch fine-tunes run
while the methods pre-train. Every step is the same command either way, so results do not
depend on ``jobs`` beyond floating-point reduction order.

Every training run trains a small config written into ``OUT/configs/`` that inherits the
preset's config and sets the benchmark's iteration schedule (:mod:`.schedule`): the same
fine-tuning iterations and schedule for every method and fraction; pre-training saves its
start weights (:class:`.weight_change.StartWeightsHook`) so the relative weight change of each
encoder (``||w - w0|| / ||w0||``) is reported. Fine-tuning seeds are compared to scratch pair
by pair (:mod:`.stats`), and a linear feature probe per method (:mod:`.feature_probe`) is
reported beside them. The world, its checks, the label splits and the teacher preparation are
the data steps of :mod:`.data_steps`. Models the probe does not apply to (``ModelEntry.bev_probe``: a LiDAR
segmentation model has no BEV feature maps) skip it and say so in the log; models that read per-point
lidarseg labels (``ModelEntry.lidarseg_labels``) fail before any step on a world without them
(:mod:`.world_checks`).

``strategies`` (``--strategies full,probe,lora,progressive,layer_decay``) fine-tunes every
(method, fraction, seed) with each fine-tuning strategy of the preset's model
(:class:`.presets.FinetuneStrategy`, docs/finetuning.md) on the same splits and seeds; ``full``
(every parameter trains) is always run, it is the baseline of the strategies' paired intervals,
and its runs keep the paths of runs made without ``--strategies``.

Layout of ``OUT``::

    protocol.json                             what makes the runs in OUT comparable
    configs/*.py                              the run configs (inherit the preset's)
    splits/train_frac{f}.pkl                  label subsets (nested, by scene)
    pretrain/{model}_{method}/                pre-training work dir + done.json
    pretrain/{model}_{method}/merged.pth      a merged method's checkpoint (its parts pre-trained as methods)
    probe/{model}_{method}/                   probe.json, spectrum.png
    runs/{model}_{method}/frac{f}_seed{s}/    fine-tune work dir, test/ and result.json (full)
    runs/{model}_{method}/{strategy}/frac{f}_seed{s}/   the same for another strategy
    results.json, results.md, label_efficiency.png
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from .data_steps import DataStepsMixin
from .merged_pretraining import DeferredPretraining, MergedPretrainingMixin
from .presets import SCRATCH, BenchmarkPreset
from .protocol import ProtocolMixin
from .report import environment_record, write_reports
from .schedule import write_run_config
from .steps import (
    REPO_ROOT,
    compute_record,
    frac_tag,
    headline,
    last_checkpoint,
    log,
    run_logged,
    summarise_downstream_metrics,
    summarise_nuscenes_metrics,
    trainable_total,
    write_json,
)
from .strategies import FULL
from .weight_change import START_WEIGHTS, checkpoint_weight_change

__all__ = ['LabelEfficiencyBenchmark', 'frac_tag', 'run_logged', 'summarise_nuscenes_metrics']


class LabelEfficiencyBenchmark(DataStepsMixin, MergedPretrainingMixin, ProtocolMixin):
    """Run one preset for one downstream model.

    Args:
        preset: The protocol (configs, data, iterations, schedules).
        model: Downstream model name (a key of ``preset.models``).
        methods: Methods to compare (``scratch`` = no pre-training).
        fractions: Label fractions of the training scenes.
        seeds: Fine-tuning seeds.
        out: Output folder.
        split_seed: Seed of the scene subsets (fixed across methods and seeds, so every method
            is fine-tuned on the same labels).
        data_root: Dataset root instead of the preset's.
        probe: Run the feature probe (when the preset has a ``probe_fraction`` and the model's
            entry a BEV probe, ``ModelEntry.bev_probe``).
        jobs: Steps (pre-trainings, probes, fine-tunes) run at once; a step that needs a
            pre-training waits for it.
        strategies: Fine-tuning strategies (names of the model's ``ModelEntry.strategies``);
            ``full`` is added first when missing. Default: ``full`` only.
        threads: Intra-op threads of every step (default: ``cpu_count // jobs`` when
            ``jobs > 1``, else the environment's).
        fraction_options: Per label fraction, extra ``--cfg-options`` of its fine-tunes (training
            and test), e.g. the teacher checkpoint a distillation config needs
            (:mod:`.distillation`); part of the protocol.
        fraction_records: Per label fraction, entries added to its run records (e.g. which
            labels the teacher saw).
        pretrained: Pre-training records made elsewhere (``{method: done record}``, e.g. by
            another benchmark of the same preset): those methods are not pre-trained again.
    """

    def __init__(
        self,
        preset: BenchmarkPreset,
        model: str,
        methods,
        fractions,
        seeds,
        out,
        split_seed: int = 0,
        data_root: str | None = None,
        probe: bool = True,
        jobs: int = 1,
        threads: int | None = None,
        strategies=None,
        fraction_options: dict | None = None,
        fraction_records: dict | None = None,
        pretrained: dict | None = None,
    ) -> None:
        if jobs < 1:
            raise ValueError(f'jobs must be >= 1, got {jobs}')
        self.jobs = jobs
        self.threads = (
            threads if threads is not None else (max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None)
        )
        self._lock = threading.Lock()
        if model not in preset.models:
            raise KeyError(f'preset {preset.name!r} has no model {model!r}; it has {sorted(preset.models)}')
        self.entry = preset.models[model]
        for method in methods:
            known = [SCRATCH, *self.entry.pretrain_configs, *self.entry.merged_pretrainings]
            if method not in known:
                raise KeyError(
                    f'preset {preset.name!r}, model {model!r}: no pre-training config for method {method!r} '
                    f'(known: {known})'
                )
        self.strategies = [FULL, *(s for s in (strategies or []) if s != FULL)]
        unknown = [s for s in self.strategies if s not in self.entry.strategies]
        if unknown:
            raise KeyError(
                f'preset {preset.name!r}, model {model!r}: no fine-tuning strategy {unknown} '
                f'(known: {sorted(self.entry.strategies)})'
            )
        self.preset, self.model = preset, model
        self.methods, self.fractions, self.seeds = list(methods), list(fractions), list(seeds)
        self.out, self.split_seed = Path(out).resolve(), split_seed
        self.data_root = (REPO_ROOT / (data_root or preset.data_root)).resolve()
        wants_probe = probe and preset.probe_fraction is not None
        self.probe_enabled = wants_probe and self.entry.bev_probe
        self.probe_skipped = wants_probe and not self.entry.bev_probe
        self.fraction_options = {float(f): list(o) for f, o in (fraction_options or {}).items()}
        self.fraction_records = {float(f): dict(r) for f, r in (fraction_records or {}).items()}
        self.pretrained = dict(pretrained or {})
        self._frames: int | None = None
        self._configs: dict = {}

    def _run_config(self, name: str, base: str, overrides: dict) -> str:
        path = write_run_config(self.out / 'configs' / f'{name}.py', REPO_ROOT / base, overrides)
        return str(path)

    # -- steps ---------------------------------------------------------------------------------
    def pretrain(self, method: str) -> dict:
        """Pre-train once per method (seed 0) on every training frame; returns the done record.

        A merged method (``ModelEntry.merged_pretrainings``) pre-trains its parts, then merges.
        """
        if method in self.pretrained:
            return self.pretrained[method]
        if self.merge_parts(method):
            return self.pretrain_merged(method)
        work_dir = self.out / 'pretrain' / f'{self.model}_{method}'
        done = work_dir / 'done.json'
        if done.exists():
            log(f'pre-training {method}: done before, skipped')
            return json.loads(done.read_text())
        config = self.entry.pretrain_configs[method]
        run_config = self._run_config(
            f'pretrain_{self.model}_{method}', config, self.pretrain_overrides(method)
        )
        args = ['tools/train.py', run_config, '--work-dir', str(work_dir)]
        if last_checkpoint(work_dir):
            args.append('--resume')
        args += [
            '--cfg-options',
            *self.pretrain_data_options(run_config),
            'randomness.seed=0',
        ]
        t0 = time.time()
        teacher = self.prepare_teacher(run_config, work_dir)
        iters = self.pretrain_iterations(method)
        log(f'pre-training {method} with {config} ({iters or "its own"} iterations)')
        run_logged(args, work_dir / 'benchmark.log', self.threads)
        checkpoint = last_checkpoint(work_dir)
        start = work_dir / START_WEIGHTS
        change = (
            checkpoint_weight_change(start, checkpoint, self.encoder_prefixes()) if start.exists() else None
        )
        record = dict(
            method=method,
            config=config,
            run_config=run_config,
            iters=iters,
            schedule=dataclasses.asdict(self.preset.pretrain_schedule)
            if self.preset.pretrain_schedule
            else None,
            checkpoint=checkpoint,
            wall_s=round(time.time() - t0, 1),
            compute=compute_record(work_dir),
            weight_change=change,
            teacher=teacher,
        )
        if change:
            log(
                'relative weight change ||w - w0|| / ||w0||: '
                + ', '.join(f'{k.rstrip(".")} {v["relative_change"]:.3f}' for k, v in change.items())
            )
        write_json(done, record)
        return record

    def probe(self, method: str, pretrained: dict | None) -> dict:
        """The feature probe of one method's encoders (scratch: the random init)."""
        out = self.out / 'probe' / f'{self.model}_{method}'
        result = out / 'probe.json'
        if result.exists():
            log(f'probe {method}: done before, skipped')
            return json.loads(result.read_text())
        args = [
            'tools/probe_features.py',
            self.entry.finetune_config,
            '--train-ann',
            str(self.split_file(self.preset.probe_fraction)),
            '--val-ann',
            str(self.data_root / self.preset.val_info),
            '--data-root',
            f'{self.data_root}/',
            '--out',
            str(out),
        ]
        if pretrained is not None:
            args += ['--checkpoint', pretrained['checkpoint']]
        log(f'probing {method} features (labelled split {self.preset.probe_fraction:g})')
        run_logged(args, out / 'probe.log', self.threads)
        return json.loads(result.read_text())

    def finetune(
        self, method: str, fraction: float, seed: int, pretrained: dict | None, strategy: str = FULL
    ) -> dict:
        """Fine-tune and evaluate one (method, fraction, seed) with ``strategy``; returns its
        result record."""
        result_file = self._result_file(method, fraction, seed, strategy)
        work_dir = result_file.parent
        name = method if strategy == FULL else f'{method} ({strategy})'
        if result_file.exists():
            log(f'{name} fraction {fraction:g} seed {seed}: done before, skipped')
            return {'strategy': FULL, **json.loads(result_file.read_text())}
        split = self.split_file(fraction)
        config = self.entry.finetune_config
        if strategy == FULL:
            run_config = self._run_config(f'finetune_{self.model}', config, self.finetune_overrides())
        else:
            run_config = self._run_config(
                f'finetune_{self.model}_{strategy}', config, self.strategy_overrides(strategy)
            )
        t0 = time.time()
        train_args = ['tools/train.py', run_config, '--work-dir', str(work_dir)]
        if last_checkpoint(work_dir):
            train_args.append('--resume')
        # training reads the split only: the run config has no validation (finetune_overrides)
        extra = self.fraction_options.get(float(fraction), [])
        options = [*self._data_options(str(split), evaluation=False), f'randomness.seed={seed}', *extra]
        if pretrained is not None:
            options.append(self.entry.init_option.format(ckpt=pretrained['checkpoint']))
        log(f'fine-tuning {name} fraction {fraction:g} seed {seed} ({self.finetune_iterations()} iterations)')
        run_logged([*train_args, '--cfg-options', *options], work_dir / 'benchmark.log', self.threads)
        ckpt = last_checkpoint(work_dir)
        metrics_file = work_dir / 'test' / 'metrics.json'
        run_logged(
            [
                'tools/test.py',
                config if strategy == FULL else run_config,  # LoRA: the adapters' structure
                ckpt,
                '--work-dir',
                str(work_dir / 'test'),
                '--metrics-json',
                str(metrics_file),
                '--cfg-options',
                *self._data_options(str(split)),
                *extra,
            ],
            work_dir / 'benchmark.log',
            self.threads,
        )
        metrics = json.loads(metrics_file.read_text())
        split_report = (
            json.loads(split.with_suffix('.json').read_text()) if split.with_suffix('.json').exists() else {}
        )
        compute = compute_record(work_dir)
        trainable = trainable_total(work_dir)
        record = dict(
            model=self.model,
            method=method,
            strategy=strategy,
            fraction=fraction,
            seed=seed,
            **summarise_downstream_metrics(metrics),
            finetune_iters=self.finetune_iterations(),
            wall_s=round(time.time() - t0, 1),
            device_hours=compute.get('device_hours_total'),
            peak_mem_mb=compute.get('peak_mem_mb'),
            iters_per_sec=compute.get('iters_per_sec_mean'),
            trainable_params=trainable.get('trainable'),
            trainable_share=trainable.get('share'),
            finetune_config=config,
            run_config=run_config,
            pretrain_config=pretrained['config'] if pretrained else None,
            pretrain_checkpoint=pretrained['checkpoint'] if pretrained else None,
            pretrain_device_hours=(pretrained or {}).get('compute', {}).get('device_hours_total'),
            checkpoint=ckpt,
            split_file=str(split),
            split=split_report,
            work_dir=str(work_dir),
            **self.fraction_records.get(float(fraction), {}),
        )
        write_json(result_file, record)
        return record

    # -- whole benchmark -------------------------------------------------------------------------
    def run(self) -> list[dict]:
        """Run everything not yet done (``jobs`` steps at once), then write the reports."""
        self.out.mkdir(parents=True, exist_ok=True)
        self.check_protocol()
        self.prepare_data()
        self.check_data()
        if self.probe_skipped:
            log(
                f'feature probe skipped: tools/probe_features.py is a linear BEV box-class probe of '
                f'detectors, and {self.model} has no BEV feature maps (results without a probe table)'
            )
        for fraction in self.fractions:  # made up front: every method then reads the same file
            self.split_file(fraction)
        t0 = time.time()
        cells = [
            (m, st, f, s)
            for m in self.methods
            for st in self.strategies
            for f in self.fractions
            for s in self.seeds
        ]
        fresh: list[float] = []
        by_cell: dict[tuple, Future] = {}
        threads = self.threads or 'as set'
        log(f'{len(cells)} fine-tunes, {self.jobs} at a time (threads per step: {threads})')

        def finetune_task(method: str, strategy: str, fraction: float, seed: int, pre: Future | None) -> dict:
            pretrained = None if pre is None else pre.result()
            t_run = time.time()
            done_before = self._result_file(method, fraction, seed, strategy).exists()
            record = self.finetune(method, fraction, seed, pretrained, strategy=strategy)
            if not done_before:
                with self._lock:
                    fresh.append(time.time() - t_run)
                    left = len(cells) - sum(f.done() for f in list(by_cell.values())) - 1
                    label = method if strategy == FULL else f'{method} ({strategy})'
                    log(
                        f'{label} fraction {fraction:g} seed {seed} finished: {headline(record)}; '
                        f'{(time.time() - t0) / 60:.1f} min so far, about '
                        f'{left * sum(fresh) / len(fresh) / self.jobs / 60:.0f} min of fine-tuning left'
                    )
            return record

        def probe_task(method: str, pre: Future | None) -> dict:
            return self.probe(method, None if pre is None else pre.result())

        # Submission order is the start order (FIFO): pre-trainings first, then the steps that
        # need none (scratch), then those that wait for one; so a waiting step only holds a slot
        # once nothing else is left to run, and never while its pre-training is still queued.
        with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix='bench') as pool:
            pre: dict = {}
            for m in self.methods:
                parts = [p.method for p in self.merge_parts(m)]
                for name in [*parts, m]:
                    if name == SCRATCH or name in pre:
                        continue
                    if name in parts or not parts:
                        pre[name] = pool.submit(self.pretrain, name)
                    else:  # merged once its parts are done, by the first step that needs it
                        pre[name] = DeferredPretraining(
                            lambda records, name=name: self.pretrain_merged(name, records),
                            [pre[p] for p in parts],
                        )
            probes: dict[str, Future] = {}
            for waits in (False, True):
                for method in self.methods:
                    if (method in pre) != waits:
                        continue
                    if self.probe_enabled:
                        probes[method] = pool.submit(probe_task, method, pre.get(method))
                    for cell in [c for c in cells if c[0] == method]:
                        by_cell[cell] = pool.submit(finetune_task, *cell, pre.get(method))
            records = [by_cell[cell].result() for cell in cells]
            pretraining = {m: f.result() for m, f in pre.items()}
            probe_results = {m: f.result() for m, f in probes.items()}
        write_reports(
            self.out,
            records,
            self.preset,
            self.model,
            {**environment_record(REPO_ROOT), 'jobs': self.jobs, 'threads_per_job': self.threads},
            pretraining=pretraining,
            probes=probe_results,
            finetune_iters=self.finetune_iterations(),
        )
        log(f'done in {(time.time() - t0) / 60:.1f} min; reports in {self.out}')
        return records

    def _result_file(self, method: str, fraction: float, seed: int, strategy: str = FULL) -> Path:
        runs = self.out / 'runs' / f'{self.model}_{method}'
        if strategy != FULL:
            runs = runs / strategy
        return runs / f'frac{frac_tag(fraction)}_seed{seed}' / 'result.json'
