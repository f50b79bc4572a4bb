"""Registration of every mmssl module into the registries of :mod:`mmssl.registry`."""

import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmssl module that registers into a registry.

    Also imports MMDetection3D's (and so MMDetection's) modules, so configs can refer to
    them with a scope prefix (``type='mmdet3d.CenterPoint'``).

    Args:
        init_default_scope: Whether to make ``mmssl`` the default scope. If another scope is
            current, a new instance named ``mmssl-<timestamp>`` is created, as MMDet3D does.
    """
    import mmdet3d.utils

    mmdet3d.utils.register_all_modules(init_default_scope=False)

    import mmssl.datasets  # noqa: F401
    import mmssl.engine  # noqa: F401
    import mmssl.evaluation  # noqa: F401
    import mmssl.models  # noqa: F401
    import mmssl.visualization  # noqa: F401

    if not init_default_scope:
        return
    never_created = DefaultScope.get_current_instance() is None or not DefaultScope.check_instance_created(
        'mmssl'
    )
    if never_created:
        DefaultScope.get_instance('mmssl', scope_name='mmssl')
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope.scope_name != 'mmssl':
        warnings.warn(
            f'The current default scope "{current_scope.scope_name}" is not "mmssl"; '
            '`register_all_modules` forces it to be "mmssl".',
            stacklevel=2,
        )
        new_instance_name = f'mmssl-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='mmssl')
