"""Train a model with MMEngine's runner (mmdet/mmseg style).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm|mpi]

Multi-GPU / multi-node use MMEngine's launchers: ``tools/dist_train.sh``
(torchrun) and ``tools/slurm_train.sh`` (srun). Without CUDA,
``--launcher pytorch`` runs on gloo (``mmseem.utils.dist_env``), so
``bash tools/dist_train.sh CONFIG 2`` works on a CPU machine.

Before the runner starts, the config's datasets are looked for on disk; a
missing one is reported with its ``data_root`` and the ``--cfg-options``
that points the config at it. ``--resume`` without a path takes the newest
*readable* checkpoint of the work dir (``AtomicCheckpointHook``).
"""
import argparse
import logging
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

try:  # run from a source checkout without `pip install -e .`
    import mmseem  # noqa: F401
except ModuleNotFoundError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseem.utils.data_check import DatasetNotFoundError, check_data_paths
from mmseem.utils.dist_env import DistributedSetupError, setup_distributed


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or, when no path is given, '
        'from the newest readable checkpoint of the work dir (a damaged '
        'latest one is skipped with a warning; the file used is logged)')
    parser.add_argument(
        '--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, e.g. '
        'train_cfg.max_iters=100 "optim_wrapper.optimizer.lr=1e-4"')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank / --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper == 'AmpOptimWrapper':
            print_log('AMP is already enabled in the config.',
                      logger='current', level=logging.WARNING)
        else:
            assert optim_wrapper == 'OptimWrapper', (
                '`--amp` only supports `OptimWrapper`, got '
                f'{optim_wrapper}.')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    with_val = cfg.get('val_cfg') is not None and \
        cfg.get('val_dataloader') is not None
    try:
        check_data_paths(
            cfg,
            dataloaders=['train_dataloader'] +
            (['val_dataloader'] if with_val else []),
            evaluators=['val_evaluator'] if with_val else [])
        setup_distributed(cfg, args.launcher)
    except (DatasetNotFoundError, DistributedSetupError) as e:
        raise SystemExit(f'error: {e}') from None

    if 'runner_type' in cfg:
        runner = RUNNERS.build(cfg)
    else:
        runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
