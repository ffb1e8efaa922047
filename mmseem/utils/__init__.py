from .env_check import check_environment
from .setup_env import register_all_modules

__all__ = ['check_environment', 'register_all_modules']
