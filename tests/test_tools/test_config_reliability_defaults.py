"""Every shipped config has a fixed seed and the reliability hooks (exact resume, guard, skip summary)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(
    str(p.relative_to(REPO))
    for p in [*REPO.glob('configs/[!_]*/*.py'), *REPO.glob('projects/*/configs/*.py')]
)


def test_configs_found():
    assert 'configs/nsmae/nsmae_bevfusion_tiny.py' in CONFIGS
    assert 'projects/CenterPoint/configs/centerpoint_tiny_synthetic.py' in CONFIGS
    assert len(CONFIGS) >= 12


@pytest.mark.parametrize('config', CONFIGS)
def test_seed_and_reliability_hooks(config):
    cfg = Config.fromfile(str(REPO / config))
    assert isinstance(cfg.get('randomness', {}).get('seed'), int), f'{config}: no randomness.seed'
    hooks = cfg.default_hooks
    assert hooks.rng_state.type == 'RNGStateHook'
    assert hooks.divergence_guard.type == 'DivergenceGuardHook' and hooks.divergence_guard.max_skips == 0
    assert hooks.bad_samples.type == 'BadSampleSummaryHook'
    assert cfg.default_scope == 'mmssl'  # the hooks' types resolve in mmssl's registry
