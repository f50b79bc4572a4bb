"""Models: algorithms, renderers, target generators, necks, heads, losses, preprocessors."""

from . import (  # noqa: F401
    algorithms,
    backbones,
    data_preprocessors,
    heads,
    losses,
    necks,
    renderers,
    target_generators,
    utils,
)
