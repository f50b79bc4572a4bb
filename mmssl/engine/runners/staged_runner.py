"""A runner that chains whole training runs: pre-train, then fine-tune from it, then test.

``mim train mmssl configs/nsmae/nsmae_bevfusion_demo.py`` is one command that pre-trains with one
config and fine-tunes a detector from the result with another. Each stage is an ordinary
MMEngine run (its own config, work dir ``<work_dir>/<stage name>``, logs and checkpoints);
this runner only sequences them, passes the previous stage's checkpoint on, and writes a
``stage_done.json`` marker after each stage, so a re-run (or ``--resume``) skips finished
stages and resumes an interrupted one from its last checkpoint.

A stage is a dict:

- ``name``: stage name (its work dir);
- ``config``: config file of the stage (relative to the repository root or absolute);
- ``cfg_options``: dict merged into the stage config (``--cfg-options`` style keys);
- ``init_from``: name of an earlier stage whose final checkpoint initialises this one;
- ``init_option``: the key that takes that checkpoint (default ``'model.init_from.checkpoint'``);
- ``label_fraction``: train on a scene-level subset of the training info file
  (``tools/make_label_split.py``, seed ``split_seed``, default 0);
- ``test``: evaluate the stage's final model on its test set after training.
"""

from __future__ import annotations

import copy
import json
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path

from mmengine.config import Config
from mmengine.logging import MMLogger, print_log
from mmengine.runner import Runner

from mmssl.registry import RUNNERS
from mmssl.utils.atomic_io import atomic_write_bytes
from mmssl.utils.config_check import check_config_paths, training_dataloaders

REPO_ROOT = Path(__file__).resolve().parents[3]


@RUNNERS.register_module()
class StagedRunner:
    """Run a list of stage configs in order (see the module docstring).

    Args:
        stages: The stage dicts.
        work_dir: Root work dir; stage ``s`` runs in ``<work_dir>/<s.name>``.
        launcher / env_cfg / model_wrapper_cfg: Passed to every stage's runner.
        resume: Accepted for ``--resume``; stages always resume from their own last checkpoint.
    """

    def __init__(
        self,
        stages: list[dict],
        work_dir: str,
        launcher: str = 'none',
        env_cfg: dict | None = None,
        model_wrapper_cfg: dict | None = None,
        resume: bool = False,
    ) -> None:
        names = [s['name'] for s in stages]
        if len(set(names)) != len(names):
            raise ValueError(f'StagedRunner: stage names must be unique, got {names}')
        for s in stages:
            if s.get('init_from') is not None and s['init_from'] not in names[: names.index(s['name'])]:
                raise ValueError(f'stage {s["name"]!r}: init_from {s["init_from"]!r} is not an earlier stage')
        self.stages = stages
        self.work_dir = osp.abspath(work_dir)
        self.launcher, self.env_cfg, self.resume = launcher, env_cfg, resume
        self.model_wrapper_cfg = model_wrapper_cfg
        os.makedirs(self.work_dir, exist_ok=True)
        self.logger = MMLogger.get_instance('staged_runner', log_file=osp.join(self.work_dir, 'stages.log'))

    @classmethod
    def from_cfg(cls, cfg: Config) -> StagedRunner:
        return cls(
            stages=copy.deepcopy(cfg.stages),
            work_dir=cfg.work_dir,
            launcher=cfg.get('launcher', 'none'),
            env_cfg=cfg.get('env_cfg'),
            model_wrapper_cfg=cfg.get('model_wrapper_cfg'),
            resume=cfg.get('resume', False),
        )

    # ------------------------------------------------------------------------------------------
    def _stage_cfg(self, stage: dict, results: dict) -> Config:
        path = stage['config'] if osp.isabs(stage['config']) else str(REPO_ROOT / stage['config'])
        cfg = Config.fromfile(path)
        cfg.merge_from_dict(dict(stage.get('cfg_options', {})))
        cfg.work_dir = osp.join(self.work_dir, stage['name'])
        cfg.launcher = self.launcher
        if self.env_cfg is not None:
            cfg.env_cfg = copy.deepcopy(self.env_cfg)
        if self.model_wrapper_cfg is not None:
            cfg.model_wrapper_cfg = copy.deepcopy(self.model_wrapper_cfg)
        if stage.get('label_fraction') is not None:
            cfg.merge_from_dict({'train_dataloader.dataset.ann_file': self._split(stage, cfg)})
        if stage.get('init_from') is not None:
            ckpt = results[stage['init_from']]['checkpoint']
            cfg.merge_from_dict({stage.get('init_option', 'model.init_from.checkpoint'): ckpt})
        if osp.exists(osp.join(cfg.work_dir, 'last_checkpoint')):
            cfg.resume, cfg.load_from = True, None
        return cfg

    def _split(self, stage: dict, cfg: Config) -> str:
        ds = cfg.train_dataloader.dataset
        info = ds.ann_file if osp.isabs(ds.ann_file) else osp.join(ds.get('data_root', ''), ds.ann_file)
        fraction, seed = stage['label_fraction'], stage.get('split_seed', 0)
        out = osp.join(self.work_dir, 'splits', f'train_frac{fraction:g}_seed{seed}.pkl')
        if not osp.exists(out):
            cmd = [
                sys.executable,
                str(REPO_ROOT / 'tools' / 'make_label_split.py'),
                info,
                '--fraction',
                str(fraction),
                '--seed',
                str(seed),
                '--out',
                out,
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f'label split failed: {" ".join(cmd)}\n{proc.stderr[-3000:]}')
            print_log(proc.stdout.strip(), logger=self.logger)
        return osp.abspath(out)

    def train(self) -> dict:
        """Run every stage not yet done; returns per-stage records (checkpoint, metrics)."""
        results: dict[str, dict] = {}
        for stage in self.stages:
            marker = osp.join(self.work_dir, stage['name'], 'stage_done.json')
            if osp.exists(marker):
                results[stage['name']] = json.loads(Path(marker).read_text())
                print_log(f'stage {stage["name"]!r}: done before, skipped', logger=self.logger)
                continue
            print_log(f'stage {stage["name"]!r}: {stage["config"]}', logger=self.logger)
            cfg = self._stage_cfg(stage, results)
            loaders = training_dataloaders(cfg, *(('test_dataloader',) if stage.get('test') else ()))
            check_config_paths(cfg, loaders)
            runner = Runner.from_cfg(cfg)
            runner.train()
            record = dict(
                stage=stage['name'],
                config=stage['config'],
                checkpoint=Path(cfg.work_dir, 'last_checkpoint').read_text().strip(),
            )
            if stage.get('test'):
                record['metrics'] = {k: float(v) for k, v in runner.test().items()}
                for key, value in record['metrics'].items():
                    print_log(f'stage {stage["name"]!r} test {key}: {value:.4f}', logger=self.logger)
            atomic_write_bytes(json.dumps(record, indent=2).encode(), marker)
            results[stage['name']] = record
        for name, record in results.items():
            headline = {
                k.rsplit('/', 1)[-1]: v
                for k, v in record.get('metrics', {}).items()
                if k.endswith(('/NDS', '/mAP', '/mIoU'))
            }
            if headline:
                text = ', '.join(f'{k} {v:.4f}' for k, v in sorted(headline.items()))
                print_log(f'stage {name!r} result: {text}', logger=self.logger)
        return results
