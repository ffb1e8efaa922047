"""Time independent click prompts: one decoder call per object
(``SEEMPredictor.predict``) against batched calls
(``SEEMPredictor.predict_batch``), on cached features.

    python tools/deployment/benchmark_prompts.py [--configs CFG ...]
        [--size 512] [--num 1 4 16] [--repeat 3] [--threads N] [--seed 0]

Random weights (seeded, nothing downloaded), a seeded uint8 noise image of
``size`` x ``size``, N single clicks on a grid; features are computed once
(``set_image``) outside the timed region. Prints per config, N and
``predict_batch`` layout (``--modes joint batch``) the median wall time of N
``predict`` rounds (memory off), of one ``predict_batch``, the speed-up and
the largest logit difference between the two. A benchmark
tool, not a test.
"""
import argparse
import os.path as osp
import sys
import time

import numpy as np
import torch

try:  # run from a source checkout without `pip install -e .`
    import mmseem  # noqa: F401
except ModuleNotFoundError:
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIGS = [
    osp.join(ROOT, 'configs/seem/seem_tiny_synthetic-panoptic.py'),
    osp.join(ROOT, 'configs/seem/seem_focalt-v1_coco-panoptic.py'),
]
VOCAB = ['person', 'dog', 'car', 'tree', 'sky', 'road']


def _median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def bench(config, size, nums, repeat, seed, modes):
    import mmseem.models  # noqa: F401
    from mmengine.config import Config

    from mmseem.apis import SEEMPredictor
    from mmseem.apis.batched_prompts import split_prompts
    from mmseem.registry import MODELS
    cfg = Config.fromfile(config)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model).eval()
    model.cfg = cfg
    pred = SEEMPredictor(model, test_pipeline=[])
    pred.set_vocabulary(VOCAB)
    image = np.random.RandomState(seed).randint(0, 256, (size, size, 3),
                                                dtype=np.uint8)
    pred.set_image(image)
    rows = []
    for n in nums:
        side = int(np.ceil(np.sqrt(n)))
        xs = (np.arange(side) + 0.5) * size / side
        pts = [[[float(x), float(y)]] for y in xs for x in xs][:n]
        vp = pred.build_prompts(points=pts, point_labels=[[1]] * n)
        singles = split_prompts(vp)

        def one_by_one():
            return [pred.predict(prompts=s, use_memory=False)
                    for s in singles]

        one_by_one()  # warm-up (prepared features, class embeddings)
        t_single, outs = _median_time(one_by_one, repeat)
        for mode in modes:
            pred.predict_batch(vp, mode=mode)  # warm-up (repeated features)
            t_batch, batch = _median_time(
                lambda: pred.predict_batch(vp, mode=mode), repeat)
            diff = max(
                float(np.abs(o['logits'][0] - batch['logits'][i]).max())
                for i, o in enumerate(outs))
            rows.append((osp.basename(config), n, mode, t_single, t_batch,
                         t_single / t_batch, diff))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--configs', nargs='+', default=DEFAULT_CONFIGS)
    p.add_argument('--size', type=int, default=512)
    p.add_argument('--num', type=int, nargs='+', default=[1, 4, 16])
    p.add_argument('--repeat', type=int, default=3)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--modes', nargs='+', default=['joint', 'batch'],
                   help='predict_batch layouts to time')
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f'{"config":34s} {"N":>3s} {"mode":>5s} {"N x predict":>12s} '
          f'{"predict_batch":>14s} {"speed-up":>8s} {"max|dlogit|":>11s}')
    for config in args.configs:
        with torch.no_grad():
            for row in bench(config, args.size, args.num, args.repeat,
                             args.seed, args.modes):
                print(f'{row[0]:34s} {row[1]:3d} {row[2]:>5s} '
                      f'{row[3]:11.3f}s {row[4]:13.3f}s {row[5]:7.2f}x '
                      f'{row[6]:11.2e}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
