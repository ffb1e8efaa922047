from .backbones import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .language import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .pixel_decoders import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403
