import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmseem module so that it lands in the mmseem registries.

    Args:
        init_default_scope: set the default scope to ``mmseem`` (a new,
            uniquely named scope is made if another one is current).
    """
    import mmseem.apis  # noqa: F401
    import mmseem.datasets  # noqa: F401
    import mmseem.engine  # noqa: F401
    import mmseem.evaluation  # noqa: F401
    import mmseem.models  # noqa: F401
    import mmseem.visualization  # noqa: F401

    if not init_default_scope:
        return
    never_created = DefaultScope.get_current_instance() is None \
        or not DefaultScope.check_instance_created('mmseem')
    if never_created:
        DefaultScope.get_instance('mmseem', scope_name='mmseem')
        return
    current = DefaultScope.get_current_instance()
    if current.scope_name != 'mmseem':
        warnings.warn('The current default scope '
                      f'"{current.scope_name}" is not "mmseem", '
                      '`register_all_modules` will force the current'
                      'default scope to be "mmseem". If this is not '
                      'expected, please set `init_default_scope=False`.')
        new_name = f'mmseem-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_name, scope_name='mmseem')
