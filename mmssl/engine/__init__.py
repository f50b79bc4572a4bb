"""Engine components: hooks (compute accounting, schedules, visualisation), optimizer wrappers, runners."""

from . import hooks, optimizers, runners  # noqa: F401
