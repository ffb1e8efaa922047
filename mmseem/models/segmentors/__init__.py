from .seem import SEEM

__all__ = ['SEEM']
