"""Engine components: hooks (compute accounting, schedules, visualisation), optimizer wrappers."""

from . import hooks, optimizers  # noqa: F401
