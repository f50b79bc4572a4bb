"""Where the real nuScenes/KITTI samples live (``../shared/data`` beside the checkout)."""

import os
from pathlib import Path

SHARED_DATA_ENV = 'MMSSL_SHARED_DATA'
REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_data_root() -> Path:
    """Return the folder of real sensor samples.

    ``$MMSSL_SHARED_DATA`` wins; otherwise ``<repo>/../shared/data``, the layout of a
    developer checkout and of CI.
    """
    env = os.environ.get(SHARED_DATA_ENV)
    return Path(env) if env else REPO_ROOT.parent / 'shared' / 'data'


def require_shared_data(*parts: str) -> Path:
    """Return ``shared_data_root()/parts``; in CI (``CI=true``) a missing path is an error.

    Outside CI a missing path skips the calling test (``pytest.skip``), so a user without the
    samples can still run the suite; in CI the real-data tests must run, never skip.
    """
    path = shared_data_root().joinpath(*parts)
    if path.exists():
        return path
    msg = f'real-data sample {path} not found (set ${SHARED_DATA_ENV} or place ../shared/data)'
    if os.environ.get('CI', '').lower() == 'true':
        raise FileNotFoundError(msg + '; in CI real-data tests must run')
    import pytest

    pytest.skip(msg)
