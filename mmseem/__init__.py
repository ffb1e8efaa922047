"""mmseem: SEEM (Segment Everything Everywhere All at Once) for OpenMMLab."""
from .utils.env_check import check_environment
from .version import __version__

check_environment()

from .utils.checkpoint_safety import allow_mmengine_checkpoints  # noqa: E402

allow_mmengine_checkpoints()

from .utils.nonfinite import install_nonfinite_load_check  # noqa: E402

install_nonfinite_load_check()

__all__ = ['__version__']
