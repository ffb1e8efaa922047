"""Start a distributed run on CPU-only machines (gloo).

Added by mmseem: mmengine's pytorch launcher calls
``torch.cuda.set_device(local_rank)`` before ``init_process_group``, which
fails on a CPU-only torch (``module 'torch._C' has no attribute
'_cuda_setDevice'``), and wraps the model in DDP with
``device_ids=[local_rank]``, which DDP rejects for a CPU module. So the
multi-process path could not even be smoke-tested without GPUs.

:func:`setup_distributed` chooses the backend from the device: with CUDA it
leaves everything to mmengine (``env_cfg.dist_cfg``, ``nccl`` by default);
without CUDA it initialises the process group itself with ``gloo`` (no CUDA
call; mmengine's ``Runner.setup_env`` then skips its own ``init_dist``)
and sets ``model_wrapper_cfg.device_ids=None`` for the CPU module.
"""
import datetime
import logging
import os
from typing import Optional

import torch
import torch.distributed as torch_dist

__all__ = ['setup_distributed', 'DistributedSetupError']

_ENV = ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')


class DistributedSetupError(RuntimeError):
    """The launcher's environment cannot start a CPU distributed run."""


def _log(msg: str) -> None:
    from mmengine.logging import print_log
    print_log(msg, logger='current', level=logging.WARNING)


def setup_distributed(cfg, launcher: str,
                      cuda_available: Optional[bool] = None) -> str:
    """Prepare ``cfg`` (and, on CPU, the process group) for ``launcher``.

    Args:
        cfg: the run's mmengine ``Config`` (edited in place).
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        cuda_available (bool, optional): override ``torch.cuda.is_available``
            (tests).

    Returns:
        str: the backend in use (``''`` for a non-distributed run).

    Raises:
        DistributedSetupError: a CPU run with a launcher other than
            ``pytorch`` or without torchrun's environment variables.
    """
    if launcher == 'none':
        return ''
    if cuda_available is None:
        cuda_available = torch.cuda.is_available()
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if cuda_available:
        return dist_cfg.setdefault('backend', 'nccl')
    if launcher != 'pytorch':
        raise DistributedSetupError(
            f'--launcher {launcher} needs CUDA (mmengine sets the CUDA device '
            'of every process); this torch has no CUDA. On CPU use torchrun '
            'and --launcher pytorch (tools/dist_train.sh does), which runs '
            'on gloo.')
    missing = [k for k in _ENV if k not in os.environ]
    if missing:
        raise DistributedSetupError(
            f'--launcher pytorch but {missing} are not set: start the script '
            'with `python -m torch.distributed.run --nproc_per_node N '
            'tools/train.py CONFIG --launcher pytorch` (tools/dist_train.sh)')
    backend = dist_cfg.get('backend', 'nccl')
    if backend != 'gloo':
        _log(f'no CUDA device: the distributed backend is gloo instead of '
             f'{backend!r} (env_cfg.dist_cfg.backend)')
    dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None  # a CPU module: DDP refuses device ids
    cfg.model_wrapper_cfg = wrapper
    if not torch_dist.is_initialized():
        kwargs = {k: v for k, v in dist_cfg.items() if k != 'backend'}
        if 'timeout' in kwargs:  # mmengine's convention: seconds
            kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
        torch_dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            **kwargs)
    return 'gloo'
