"""Benchmark SEEM against mmdet's Mask2Former: inference, training
iterations and video propagation (command line of the ``speed`` package
next to this file; see ``speed/__init__.py`` or ``--help`` for the modes,
options and what each row measures).

    python tools/analysis_tools/benchmark_speed.py \\
        [--modes infer train video] [--configs SEEM_CONFIG ...] \\
        [--m2f-config PATH | --no-m2f] [--sizes 512 1024] [--threads N] ...

Every public name of the package is re-exported here, so
``benchmark_speed.main([...])``, ``benchmark_speed.FULL`` etc. keep working.
"""
import os.path as osp
import sys

_HERE = osp.dirname(osp.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from speed import *  # noqa: E402,F401,F403
from speed import main  # noqa: E402

if __name__ == '__main__':
    main()
