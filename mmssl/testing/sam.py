"""A tiny random-weights SAM checkpoint for tests (the released SAM files are not on the CPU machine)."""

from __future__ import annotations

from pathlib import Path


def write_tiny_sam(path: str | Path, seed: int = 0) -> Path:
    """Write the state dict of a randomly initialised ``model_type='tiny_test'`` SAM to ``path``.

    The architecture is :func:`mmssl.datasets.superpixels.sam.build_tiny_test_sam` (128 px input,
    2-block 32-wide encoder), so ``SAMSuperpixels(checkpoint=path, model_type='tiny_test')``
    loads it through the same path as a released file. The global torch RNG is left as it was.

    Args:
        path: the file to write (folders are created).
        seed: ``torch.manual_seed`` before the model is built (same seed, same weights).

    Returns:
        ``path``.
    """
    import torch

    from mmssl.datasets.superpixels.sam import build_tiny_test_sam

    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(int(seed))
        model = build_tiny_test_sam()
    finally:
        torch.random.set_rng_state(state)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path
