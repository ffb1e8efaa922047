from .seem_loss import SEEMLoss

__all__ = ['SEEMLoss']
