"""Write mmseem's embedded synthetic COCO-format data set.

    python tools/dataset_converters/make_synthetic_coco.py --out data/synthetic

Needs only numpy and OpenCV (runs before mmcv/mmdet/mmseg are installed).
"""
import argparse
import importlib.util
import json
import os.path as osp


def _load_generator():
    try:
        from mmseem.datasets.synthetic import generate_synthetic_coco
    except ImportError:  # stack not installed yet: load the file directly
        path = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..',
                        'mmseem', 'datasets', 'synthetic.py')
        spec = importlib.util.spec_from_file_location('_synthetic', path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        generate_synthetic_coco = module.generate_synthetic_coco
    return generate_synthetic_coco


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/synthetic',
                        help='output root (default: data/synthetic)')
    parser.add_argument('--num-train', type=int, default=240)
    parser.add_argument('--num-val', type=int, default=60)
    parser.add_argument('--size', type=int, default=128,
                        help='image side in pixels (>= 32)')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main():
    args = parse_args()
    summary = _load_generator()(
        args.out, num_train=args.num_train, num_val=args.num_val,
        image_size=args.size, seed=args.seed)
    print(json.dumps(dict(out_dir=summary['out_dir'],
                          seconds=summary['seconds'],
                          counts=summary['counts'])))


if __name__ == '__main__':
    main()
