"""Print the evaluation metrics logged in a work dir as a markdown table.

    python tools/analysis_tools/metrics_table.py WORK_DIR [--keys k1 k2 ...]

Reads every ``vis_data/scalars.json`` (MMEngine's LocalVisBackend) under
WORK_DIR: one row per evaluation (validation iteration or test run).
"""
import argparse
import glob
import json
import os.path as osp

DEFAULT_KEYS = ('coco_panoptic/PQ', 'coco_panoptic/SQ', 'coco_panoptic/RQ',
                'coco/segm_mAP', 'coco/segm_mAP_50', 'mIoU', 'aAcc')


def collect(work_dir):
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


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('work_dir')
    parser.add_argument('--keys', nargs='+', default=None)
    args = parser.parse_args()
    rows = collect(args.work_dir)
    if not rows:
        raise SystemExit(f'no evaluation results under {args.work_dir}: '
                         'was the model validated or tested?')
    keys = args.keys or [k for k in DEFAULT_KEYS
                         if any(k in r for _, _, r in rows)]
    print('| run | step | ' + ' | '.join(keys) + ' |')
    print('|---|---|' + '---|' * len(keys))
    for tag, step, rec in rows:
        vals = [f'{rec[k]:.2f}' if isinstance(rec.get(k), (int, float))
                else '-' for k in keys]
        print(f'| {tag} | {step} | ' + ' | '.join(vals) + ' |')


if __name__ == '__main__':
    main()
