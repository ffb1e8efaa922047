"""Print the main job's table (every SEEM task, baselines' rows) from a
work dir of ``tools/run_default.sh``.

    python tools/analysis_tools/metrics_table.py WORK_DIR [--seconds S]

Layout read (written by ``run_default.sh``)::

    WORK_DIR/eval/runs.json                   # benchmark_table.py --json
    WORK_DIR/eval/visual_referring_<NAME>.json  # default_pictures.py

One row per model; columns: PQ (things / stuff), mask AP, mIoU, referring
cIoU / mIoU, interactive NoC@85 / NoC@90 and mIoU after 1, 2, 3, 5, 10, 20
clicks, visual referring mIoU; ``-`` where the model has no such result.
The SEEM row is checked against the main job's targets (a miss is printed,
never an error). The table is also written to ``WORK_DIR/table.md``.

A work dir without ``eval/runs.json`` (e.g. ``tools/train.py`` with
validation) falls back to one row per logged evaluation
(``vis_data/scalars.json``).
"""
import argparse
import glob
import json
import os.path as osp
import re

#: (header, regex on the metric key); the shortest matching key wins.
COLUMNS = (
    ('PQ', r'(^|/)PQ$'),
    ('PQ things', r'(^|/)PQ_th$'),
    ('PQ stuff', r'(^|/)PQ_st$'),
    ('mask AP', r'(^|/)segm_mAP$'),
    ('mIoU', r'^(sem_seg/)?mIoU$'),
    ('ref cIoU', r'^refseg/cIoU$'),
    ('ref mIoU', r'^refseg/mIoU$'),
    ('NoC@85', r'(^|/)NoC@85$'),
    ('NoC@90', r'(^|/)NoC@90$'),
) + tuple((f'mIoU@{k}', rf'(^|/)mIoU@{k}$') for k in (1, 2, 3, 5, 10, 20)) \
    + (('visual ref mIoU', r'^visref/mIoU$'), )
#: The main job's targets on the SEEM row (issue: "SEEM learns the
#: embedded default").
TARGETS = (
    ('PQ things >= 30', lambda m: m['PQ things'] >= 30),
    ('referring cIoU >= 50', lambda m: m['ref cIoU'] >= 50),
    ('mIoU@5 >= mIoU@1 + 10', lambda m: m['mIoU@5'] >= m['mIoU@1'] + 10),
    ('NoC@85 <= 5', lambda m: m['NoC@85'] <= 5),
)
DEFAULT_KEYS = ('coco_panoptic/PQ', 'coco_panoptic/SQ', 'coco_panoptic/RQ',
                'coco/segm_mAP', 'coco/segm_mAP_50', 'mIoU', 'aAcc')


def pick(metrics, pattern):
    keys = sorted((k for k in metrics if re.search(pattern, k)),
                  key=lambda k: (k.count('/'), len(k)))
    return metrics[keys[0]] if keys else None


def load_rows(work_dir):
    """``{model name: {column: value or None}}`` in run order."""
    with open(osp.join(work_dir, 'eval', 'runs.json')) as f:
        runs = json.load(f)
    merged, failed = {}, []
    for run in runs:
        merged.setdefault(run['name'], {}).update(run.get('metrics') or {})
        if run.get('error'):
            failed.append(f"{run['name']} {osp.basename(run['config'])}: "
                          f"{run['error']}")
    for path in sorted(glob.glob(osp.join(work_dir, 'eval',
                                          'visual_referring_*.json'))):
        name = osp.basename(path)[len('visual_referring_'):-len('.json')]
        with open(path) as f:
            merged.setdefault(name, {}).update(json.load(f))
    rows = {name: {h: pick(m, pat) for h, pat in COLUMNS}
            for name, m in merged.items()}
    for row in rows.values():  # mmdet's CocoMetric reports AP in [0, 1]
        if row['mask AP'] is not None:
            row['mask AP'] *= 100
    return rows, failed


def _fmt(v):
    return '-' if v is None else f'{v:.1f}'


def main_table(rows, failed, seconds=None):
    lines = ['| model | ' + ' | '.join(h for h, _ in COLUMNS) + ' |',
             '|---|' + '---|' * len(COLUMNS)]
    for name, row in rows.items():
        lines.append(f'| {name} | ' + ' | '.join(
            _fmt(row[h]) for h, _ in COLUMNS) + ' |')
    lines.append('')
    lines.append('PQ / AP / mIoU / cIoU in %, NoC in clicks (standard '
                 'protocol, 20 clicks at most); "-": no such task / result.')
    lines += [f'- failed: {f}' for f in failed]
    seem = rows.get('SEEM')
    if seem is not None:
        checks = []
        for text, ok in TARGETS:
            try:
                checks.append(f"{text}: {'met' if ok(seem) else 'MISSED'}")
            except TypeError:  # a value is missing
                checks.append(f'{text}: no result')
        if seconds is not None:
            checks.append(f'whole run {seconds / 60:.1f} min <= 20: '
                          f"{'met' if seconds <= 1200 else 'MISSED'}")
        lines.append('SEEM targets: ' + '; '.join(checks))
    return '\n'.join(lines)


def scalar_rows(work_dir):
    rows = []
    for path in sorted(glob.glob(osp.join(work_dir, '**', 'scalars.json'),
                                 recursive=True)):
        run = osp.relpath(path, work_dir).split(osp.sep)
        tag = 'test' if 'test' in run else 'val'
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if any(k in rec for k in DEFAULT_KEYS):
                    rows.append((tag, rec.get('step', rec.get('iter', '-')),
                                 rec))
    return rows


def scalar_table(rows, keys=None):
    keys = keys or [k for k in DEFAULT_KEYS
                    if any(k in r for _, _, r in rows)]
    lines = ['| run | step | ' + ' | '.join(keys) + ' |',
             '|---|---|' + '---|' * len(keys)]
    for tag, step, rec in rows:
        vals = [f'{rec[k]:.2f}' if isinstance(rec.get(k), (int, float))
                else '-' for k in keys]
        lines.append(f'| {tag} | {step} | ' + ' | '.join(vals) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir')
    parser.add_argument('--seconds', type=float,
                        help='wall time of the whole run (checked <= 20 min)')
    parser.add_argument('--keys', nargs='+', default=None,
                        help='columns of the fallback (scalars.json) table')
    args = parser.parse_args(argv)
    if osp.isfile(osp.join(args.work_dir, 'eval', 'runs.json')):
        rows, failed = load_rows(args.work_dir)
        table = main_table(rows, failed, args.seconds)
        with open(osp.join(args.work_dir, 'table.md'), 'w') as f:
            f.write(table + '\n')
    else:
        rows = scalar_rows(args.work_dir)
        if not rows:
            raise SystemExit(f'no evaluation results under {args.work_dir}: '
                             'run tools/run_default.sh, or validate / test '
                             'the model')
        table = scalar_table(rows, args.keys)
    print(table)
    return table


if __name__ == '__main__':
    main()
