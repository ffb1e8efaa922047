"""Write mmseem's embedded synthetic COCO-format data set.

    python tools/dataset_converters/make_synthetic_coco.py --out data/synthetic

Writes only into a new or empty folder, or one this generator wrote before
(marker file ``.mmseem_synthetic``); never into a folder of real data.
``--if-stale`` skips the work when the folder already holds the set these
arguments describe (same generator version and arguments).
"""
import argparse
import json
import os.path as osp
import sys

from mmseem.datasets.synthetic import (GENERATOR_VERSION,
                                       generate_synthetic_coco,
                                       is_synthetic_root)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/synthetic',
                        help='output root (default: data/synthetic)')
    parser.add_argument('--num-train', type=int, default=800)
    parser.add_argument('--num-val', type=int, default=60)
    parser.add_argument('--size', type=int, default=128,
                        help='image side in pixels (>= 32)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--if-stale', action='store_true',
                        help='do nothing when --out already holds this set')
    return parser.parse_args()


def is_current(out, args) -> bool:
    """Whether ``out`` holds the set of these arguments, from this
    generator version."""
    try:
        with open(osp.join(out, 'meta.json')) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return False
    want = dict(num_train=args.num_train, num_val=args.num_val,
                image_size=args.size, seed=args.seed)
    return (is_synthetic_root(out)
            and meta.get('generator_version') == GENERATOR_VERSION
            and meta.get('generation_args') == want)


def main():
    args = parse_args()
    if args.if_stale and is_current(args.out, args):
        print(f'{args.out}: synthetic set (generator version '
              f'{GENERATOR_VERSION}) is current')
        return
    try:
        summary = generate_synthetic_coco(
            args.out, num_train=args.num_train, num_val=args.num_val,
            image_size=args.size, seed=args.seed)
    except (FileExistsError, NotADirectoryError, ValueError) as e:
        sys.exit(f'error: {e}')
    print(json.dumps(dict(out_dir=summary['out_dir'],
                          seconds=summary['seconds'],
                          counts=summary['counts'])))


if __name__ == '__main__':
    main()
