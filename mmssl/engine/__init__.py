"""Engine components: hooks (compute accounting, schedules, visualisation)."""

from . import hooks  # noqa: F401
