"""Check the OpenMMLab stack before anything else imports it.

Version hell is the most common OpenMMLab complaint; every check here names
the problem *and* the command that fixes it.
"""
from importlib import metadata

from packaging.version import parse

#: (package, lowest allowed, first disallowed) as mmdet 3.3 / mmseg 1.2 demand.
MMCV_RANGE = ('2.0.0rc4', '2.2.0')
MMENGINE_RANGE = ('0.10.0', '1.0.0')
TORCH_PIN = '2.13'
SETUPTOOLS_RANGE = ('70', '82')

FIX_STACK = ('pip install -c requirements/constraints.txt '
             '-r requirements/mminstall.txt  (see README, "Install")')


class EnvironmentError_(ImportError):
    """Raised when the installed stack cannot run mmseem."""


def _version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def check_setuptools():
    v = _version('setuptools')
    lo, hi = SETUPTOOLS_RANGE
    if v is None or not (parse(lo) <= parse(v) < parse(hi)):
        raise EnvironmentError_(
            f'setuptools {v} found; mmcv, mim and mmengine need '
            f'setuptools>={lo},<{hi} (they import pkg_resources, removed in '
            f'setuptools 82). Fix: pip install "setuptools>={lo},<{hi}"')


def check_mmcv():
    try:
        import mmcv
    except ImportError as e:  # pragma: no cover - message path
        raise EnvironmentError_(
            f'mmcv is not installed ({e}). Fix: pip install '
            f'--no-build-isolation -c requirements/constraints.txt '
            f'mmcv==2.1.0  (builds the ops from source, ~7 min on 2 cores)'
        ) from e
    lo, hi = MMCV_RANGE
    if not (parse(lo) <= parse(mmcv.__version__) < parse(hi)):
        raise EnvironmentError_(
            f'mmcv {mmcv.__version__} found, but mmdet 3.3 and mmseg 1.2 '
            f'need mmcv>={lo},<{hi}. Fix: pip uninstall -y mmcv && pip '
            f'install --no-build-isolation -c requirements/constraints.txt '
            f'mmcv==2.1.0')
    try:
        from mmcv.ops import MultiScaleDeformableAttention  # noqa: F401
        import mmcv._ext  # noqa: F401
    except (ImportError, ModuleNotFoundError, OSError) as e:
        raise EnvironmentError_(
            f'mmcv {mmcv.__version__} is installed without its compiled ops '
            f'(mmcv._ext: {e}), or they were built against another torch. '
            f'Fix: pip uninstall -y mmcv mmcv-lite && pip install '
            f'--no-build-isolation --no-cache-dir -c '
            f'requirements/constraints.txt mmcv==2.1.0') from e


def check_torch():
    import torch
    if not torch.__version__.startswith(TORCH_PIN):
        raise EnvironmentError_(
            f'torch {torch.__version__} found, mmseem is pinned to torch '
            f'{TORCH_PIN}.x: mmcv 2.1.0 (with ops) does not build against '
            f'newer torch headers, and a package such as timm or torchvision '
            f'probably moved it. Fix: pip install torch==2.13.0, then always '
            f'install with -c requirements/constraints.txt')


def check_environment(strict_torch=False):
    """Run all checks; raise :class:`EnvironmentError_` on the first failure.

    ``strict_torch`` also checks the torch pin (``mmseem.utils.collect_env``
    and the test-suite use it; importing mmseem does not, so users on another
    torch with a matching mmcv build are not locked out).
    """
    check_setuptools()
    if strict_torch:
        check_torch()
    check_mmcv()
