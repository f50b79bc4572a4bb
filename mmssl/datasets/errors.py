"""The error raised for bad input samples, and helpers that name the sample in its message."""

from __future__ import annotations

from typing import Any, Mapping


class BadSampleError(ValueError):
    """A sample's data or info is unusable.

    The message always names the sample (``sample_idx``/``token``), the file or info key that is
    wrong and what was expected, e.g.::

        sample sample_idx=3 token=ca9a...: file '.../x.pcd.bin' holds 10 float32 values, not a
        multiple of the point dimension 5

    Attributes:
        sample: Description of the sample (``'sample_idx=3 token=...'``).
        source: The file path or info key that is wrong.
        reason: What is wrong / what was expected.
    """

    def __init__(self, sample: str, source: str, reason: str) -> None:
        self.sample = sample
        self.source = source
        self.reason = reason
        super().__init__(f'sample {sample}: {source}: {reason}')


def describe_sample(info: Mapping[str, Any]) -> str:
    """``'sample_idx=<i> token=<t>'`` for an info/results dict (missing fields are skipped)."""
    parts = []
    for key in ('sample_idx', 'token', 'sample_id'):
        if key in info and info[key] is not None:
            parts.append(f'{key}={info[key]}')
    return ' '.join(parts) if parts else '<unknown sample>'
