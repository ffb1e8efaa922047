"""Evaluate a checkpoint with MMEngine's runner (mmdet/mmseg style).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--show-dir DIR] [--cfg-options k=v ...] [--launcher ...]

Without CUDA, ``--launcher pytorch`` runs on gloo (``tools/dist_test.sh``
works on a CPU machine); a missing dataset or checkpoint is reported before
the runner starts.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

try:  # run from a source checkout without `pip install -e .`
    import mmseem  # noqa: F401
except ModuleNotFoundError:
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmseem.utils.data_check import DatasetNotFoundError, check_data_paths
from mmseem.utils.dist_env import DistributedSetupError, setup_distributed


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the metrics')
    parser.add_argument(
        '--out', help='dump the predictions to a pickle file (offline eval)')
    parser.add_argument(
        '--show-dir', help='directory where painted images will be saved')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
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
    cfg.load_from = args.checkpoint

    if args.show_dir:
        vis_hook = cfg.default_hooks.get('visualization')
        if vis_hook is None:
            raise ValueError('--show-dir needs a `visualization` hook in '
                             '`default_hooks` of the config.')
        vis_hook['draw'] = True
        vis_hook['test_out_dir'] = args.show_dir
        if 'interval' in vis_hook:
            vis_hook['interval'] = 1

    if args.out is not None:
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(
            cfg.test_evaluator, dict) else list(cfg.test_evaluator)
        cfg.test_evaluator.append(
            dict(type='DumpResults', out_file_path=args.out))

    if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
        raise SystemExit(f'error: checkpoint {args.checkpoint} not found')
    try:
        check_data_paths(cfg, dataloaders=['test_dataloader'],
                         evaluators=['test_evaluator'])
        setup_distributed(cfg, args.launcher)
    except (DatasetNotFoundError, DistributedSetupError) as e:
        raise SystemExit(f'error: {e}') from None

    runner = Runner.from_cfg(cfg)
    runner.test()


if __name__ == '__main__':
    main()
