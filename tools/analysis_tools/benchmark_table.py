"""Benchmark several models on the same data and print SEEM's README table.

Each ``--run NAME CONFIG [CHECKPOINT]`` is tested with MMEngine's
``Runner.test()`` (what ``mim test`` does); runs with the same NAME are one
row (e.g. one SEEM checkpoint under its panoptic, referring, interactive and
DAVIS configs). The table has the columns of SEEM's README -- PQ, mAP, mIoU
(COCO panoptic / instance / semantic), cIoU (referring), NoC@85, NoC@90
(interactive), J&F (DAVIS) -- with ``-`` where a model has no such result
(it cannot do the task, or no config for it was given). A CHECKPOINT of
``none`` (or none given) tests the randomly initialised model, and the table
says so. A PNG plot of the interactive mIoU after k clicks (``mIoU@k``) per
model is saved with matplotlib (Agg)::

    python tools/analysis_tools/benchmark_table.py \\
        --run SEEM configs/seem/seem_tiny_synthetic-panoptic.py none \\
        --run SEEM configs/seem/seem_tiny_synthetic-interactive.py none \\
        --run SEEM configs/seem/seem_tiny_davis.py none \\
            data_root=../shared/data/davis_car_shadow \\
        --run Mask2Former \\
            configs/baselines/mask2former_r18_8xb2-3k_synthetic.py \\
            work_dirs/mask2former_r18_8xb2-3k_synthetic/iter_3000.pth \\
        --data-root data/synthetic/ --out work_dirs/benchmark/table.md

``key=value`` items after a run's config are overrides of that run only
(e.g. ``model.test_cfg.max_clicks=5 test_evaluator.max_clicks=5``).

The test set's ``metainfo`` becomes ``model.dataset_meta`` when the model
has none (``mmseem.ModelDatasetMetaHook``; SEEM's open vocabulary).
``--data-root`` points every config at the same data: strings of the
test dataloader / evaluator that start with the config's ``data_root`` are
re-rooted (dataset roots, annotation files of the metrics).
"""
import argparse
import json
import os
import os.path as osp
import re
import time
import traceback
from collections import OrderedDict
from typing import Dict, List, Optional

#: (header, arrow, regex on the metric key); first matching key wins, the
#: shortest key is preferred (e.g. ``vos/J&F`` over ``vos/<seq>/J&F``).
COLUMNS = (
    ('PQ', '&uarr;', r'(^|/)PQ$'),
    ('mAP', '&uarr;', r'(^|/)segm_mAP$'),
    ('mIoU', '&uarr;', r'^(sem_seg/)?mIoU$'),
    ('cIoU', '&uarr;', r'(^|/)cIoU$'),
    ('NoC@85', '&darr;', r'(^|/)NoC@85$'),
    ('NoC@90', '&darr;', r'(^|/)NoC@90$'),
    ('J&F', '&uarr;', r'^(vos/)?J&F$'),
)
_CLICK_KEY = re.compile(r'(^|/)mIoU@(\d+)$')
NO_CHECKPOINT = ('', 'none', 'None', 'random', '-')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test several config+checkpoint pairs and print a '
        'markdown table in the layout of SEEM\'s README.')
    parser.add_argument(
        '--run', nargs='+', action='append', required=True,
        metavar='NAME CONFIG [CHECKPOINT] [key=value ...]',
        help='a model name (row), a config, optionally a checkpoint '
        '(none = random init) and config overrides of this run '
        '(data_root=PATH re-roots its data); repeat for more configs / '
        'models')
    parser.add_argument('--data-root', help='re-root the test data (and '
                        'metric files) of every run without its own '
                        'data_root=')
    parser.add_argument('--work-dir', default='work_dirs/benchmark_table',
                        help='where the runners log (one sub-dir per run)')
    parser.add_argument('--out', help='also write the markdown table here')
    parser.add_argument('--json', help='write every run\'s metrics here')
    parser.add_argument('--plot', help='PNG of mIoU vs clicks (default '
                        'WORK_DIR/miou_vs_clicks.png)')
    parser.add_argument('--max-samples', type=int, help='test only the '
                        'first N samples of every dataset (smoke runs)')
    parser.add_argument('--num-workers', type=int, help='dataloader workers')
    parser.add_argument('--extra-columns', nargs='*', default=[],
                        help='raw metric keys to add as columns, e.g. '
                        'refseg/mIoU refseg/Prec@0.5')
    parser.add_argument('--strict', action='store_true', help='stop at the '
                        'first failing run instead of reporting it')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of every config (key=value; '
                        'per-run overrides go after --run)')
    return parser.parse_args(argv)


class DictAction(argparse.Action):
    """Lazy proxy of :class:`mmengine.config.DictAction` (imports mmengine
    only when options are given, so ``--help`` is instant)."""

    def __call__(self, parser, namespace, values, option_string=None):
        from mmengine.config import DictAction as _DictAction
        _DictAction(self.option_strings, self.dest)(parser, namespace, values,
                                                    option_string)


def parse_runs(run_args: List[List[str]]) -> List[dict]:
    """``[[NAME, CONFIG, (CHECKPOINT), (key=value ...)], ...]`` -> runs.

    ``key=value`` items are config overrides of that run only (as
    ``--cfg-options``); ``data_root=PATH`` re-roots that run's data.
    """
    runs = []
    for item in run_args:
        opts = [x for x in item[2:] if '=' in x]
        pos = item[:2] + [x for x in item[2:] if '=' not in x]
        if len(pos) not in (2, 3):
            raise ValueError(f'--run takes NAME CONFIG [CHECKPOINT] '
                             f'[key=value ...], got {item}')
        name, config = pos[0], pos[1]
        ckpt = pos[2] if len(pos) == 3 else None
        if ckpt in NO_CHECKPOINT:
            ckpt = None
        if not osp.isfile(config):
            raise FileNotFoundError(f'config {config} (run {name!r}) not '
                                    'found')
        if ckpt is not None and not osp.isfile(ckpt):
            raise FileNotFoundError(
                f'checkpoint {ckpt} (run {name!r}) not found; pass none to '
                'test the randomly initialised model')
        options = {}
        for opt in opts:
            key, value = opt.split('=', 1)
            options[key] = _parse_value(value)
        data_root = options.pop('data_root', None)
        runs.append(dict(name=name, config=config, checkpoint=ckpt,
                         options=options, data_root=data_root))
    return runs


def _parse_value(text: str):
    """``'3'`` -> 3, ``'0.5'`` -> 0.5, ``'True'`` -> True, else the str."""
    import ast
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _reroot(obj, old: str, new: str):
    """Replace the prefix ``old`` by ``new`` in every string of ``obj``."""
    if isinstance(obj, str):
        return new + obj[len(old):] if obj.startswith(old) else obj
    if isinstance(obj, dict):
        for k in list(obj.keys()):
            obj[k] = _reroot(obj[k], old, new)
        return obj
    if isinstance(obj, (list, tuple)):
        return type(obj)(_reroot(v, old, new) for v in obj)
    return obj


def set_data_root(cfg, data_root: str) -> None:
    """Point the config's test data and metric files at ``data_root``."""
    old = cfg.get('data_root')
    new = data_root if data_root.endswith('/') else data_root + '/'
    for key in ('test_dataloader', 'test_evaluator'):
        if cfg.get(key) is None:
            continue
        value = cfg[key]
        if old:
            value = _reroot(value, old if old.endswith('/') else old + '/',
                            new)
        cfg[key] = value
    ds = cfg.test_dataloader.get('dataset', {})
    if 'data_root' in ds:
        ds['data_root'] = new
    cfg.data_root = new


def backbone_name(cfg) -> str:
    """E.g. ``FocalNet-tiny``, ``ResNet-18`` (from ``model.backbone``)."""
    bb = cfg.get('model', {}).get('backbone', {}) or {}
    name = str(bb.get('type', '?')).split('.')[-1]
    for key in ('arch', 'depth'):
        if bb.get(key) is not None:
            return f'{name}-{bb[key]}'
    return name


def run_one(run: dict, args, index: int) -> Dict[str, float]:
    """Test one config + checkpoint with ``Runner.test()``."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    cfg = Config.fromfile(run['config'])
    run['backbone'] = backbone_name(cfg)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if run.get('options'):
        cfg.merge_from_dict(run['options'])
    data_root = run.get('data_root') or args.data_root
    if data_root:
        set_data_root(cfg, str(data_root))
    if args.max_samples is not None:
        cfg.test_dataloader.dataset['indices'] = args.max_samples
    if args.num_workers is not None:
        cfg.test_dataloader['num_workers'] = args.num_workers
        if args.num_workers == 0:
            cfg.test_dataloader['persistent_workers'] = False
    stem = osp.splitext(osp.basename(run['config']))[0]
    tag = f'{index:02d}_{re.sub(r"[^A-Za-z0-9_.-]", "_", run["name"])}'
    cfg.work_dir = osp.join(args.work_dir, f'{tag}_{stem}')
    cfg.load_from = run['checkpoint']
    cfg.resume = False
    cfg.launcher = 'none'
    # unique names: several runners live in this process
    cfg.experiment_name = f'{tag}_{stem}_{time.strftime("%Y%m%d_%H%M%S")}'
    if isinstance(cfg.get('visualizer'), dict):
        cfg.visualizer['name'] = cfg.experiment_name
    # test only: drop the training / validation parts some configs carry
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler', 'val_dataloader', 'val_cfg',
                'val_evaluator'):
        cfg[key] = None
    # a model without dataset_meta (random init, converted checkpoint) takes
    # the test set's metainfo (SEEM: its open vocabulary)
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') in ('ModelDatasetMetaHook',
                                 'mmseem.ModelDatasetMetaHook')
               for h in hooks):
        hooks.append(dict(type='mmseem.ModelDatasetMetaHook'))
    cfg.custom_hooks = hooks
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    out = {}
    for k, v in metrics.items():
        try:  # python / numpy / 0-d tensor scalars
            out[k] = float(v)
        except (TypeError, ValueError):
            pass
    return out


def pick(metrics: Dict[str, float], pattern: str) -> Optional[float]:
    """Value of the shortest metric key matching ``pattern``."""
    keys = sorted((k for k in metrics if re.search(pattern, k)),
                  key=lambda k: (k.count('/'), len(k)))
    return metrics[keys[0]] if keys else None


def click_curve(metrics: Dict[str, float]) -> List[tuple]:
    """``[(k, mIoU@k), ...]`` sorted by k (interactive runs only)."""
    pts = {}
    for key, value in metrics.items():
        m = _CLICK_KEY.search(key)
        if m:
            pts.setdefault(int(m.group(2)), value)
    return sorted(pts.items())


def collect_rows(runs: List[dict]) -> 'OrderedDict[str, dict]':
    """Merge the runs of each model name into one row."""
    rows = OrderedDict()
    for run in runs:
        row = rows.setdefault(
            run['name'],
            dict(metrics={}, checkpoints=[], backbone=None, failed=[]))
        row['backbone'] = row['backbone'] or run.get('backbone')
        if run.get('error'):
            row['failed'].append(f"{osp.basename(run['config'])}: "
                                 f"{run['error']}")
        ckpt = run['checkpoint']
        label = 'random init' if ckpt is None else osp.basename(ckpt)
        if label not in row['checkpoints']:
            row['checkpoints'].append(label)
        row['metrics'].update(run.get('metrics') or {})
    return rows


def _fmt(v: Optional[float]) -> str:
    return '-' if v is None else f'{v:.2f}'


def _cell(header: str, v: Optional[float]) -> str:
    # mmdet's CocoMetric reports AP in [0, 1]; the table is in %
    return _fmt(v * 100 if header == 'mAP' and v is not None else v)


def make_table(rows: 'OrderedDict[str, dict]',
               extra_columns=()) -> str:
    """Markdown table: Method | Checkpoint | Backbone | PQ .. J&F."""
    heads = [f'{h} {arrow}' for h, arrow, _ in COLUMNS] + list(extra_columns)
    lines = [
        '| Method | Checkpoint | Backbone | ' + ' | '.join(heads) + ' |',
        '|' + '---|' * (3 + len(heads)),
    ]
    notes = []
    for name, row in rows.items():
        vals = [_cell(h, pick(row['metrics'], pat)) for h, _, pat in COLUMNS]
        vals += [_fmt(row['metrics'].get(k)) for k in extra_columns]
        lines.append(f"| {name} | {' / '.join(row['checkpoints'])} | "
                     f"{row.get('backbone') or '?'} | " + ' | '.join(vals) +
                     ' |')
        notes += [f'{name}: failed {msg}' for msg in row['failed']]
    lines.append('')
    lines.append('"-": no result (the model cannot do the task or no config '
                 'for it was run); "random init": no checkpoint was loaded, '
                 'the numbers are those of random weights. PQ/mAP/mIoU/cIoU/'
                 'J&F in %, NoC in clicks.')
    lines += [f'- {n}' for n in notes]
    return '\n'.join(lines)


def plot_click_curves(rows: 'OrderedDict[str, dict]', path: str) -> bool:
    """Save mIoU vs number of clicks per model; False if no curve."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100)
    drawn = False
    for name, row in rows.items():
        curve = click_curve(row['metrics'])
        if curve:
            ks, vs = zip(*curve)
            label = name
            if 'random init' in row.get('checkpoints', []):
                label += ' (random init)'
            ax.plot(ks, vs, marker='o', markersize=3, label=label)
            drawn = True
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel('number of clicks')
    ax.set_ylabel('mIoU (%)')
    ax.set_title('interactive segmentation: mIoU vs clicks')
    ax.grid(True, alpha=0.3)
    if drawn:
        ax.legend()
    else:
        ax.text(0.5, 0.5, 'no interactive results', ha='center',
                va='center', transform=ax.transAxes)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return drawn


def main(argv=None) -> str:
    args = parse_args(argv)
    runs = parse_runs(args.run)
    os.makedirs(args.work_dir, exist_ok=True)
    for i, run in enumerate(runs):
        try:
            run['metrics'] = run_one(run, args, i)
        except Exception as err:  # report, keep benchmarking the others
            if args.strict:
                raise
            traceback.print_exc()
            run['metrics'] = {}
            run['error'] = f'{type(err).__name__}: {err}'.splitlines()[0]
    rows = collect_rows(runs)
    table = make_table(rows, args.extra_columns)
    print(table)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(table + '\n')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(runs, f, indent=1)
    plot = args.plot or osp.join(args.work_dir, 'miou_vs_clicks.png')
    plot_click_curves(rows, plot)
    print(f'mIoU-vs-clicks plot: {plot}')
    return table


if __name__ == '__main__':
    main()
