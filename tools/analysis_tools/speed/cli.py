"""Command line: options, checks and the run of the selected modes."""
import argparse
import json
import os
import os.path as osp
import sys
from typing import Dict

import torch

from .common import (COLUMNS, CpuPeakMemory, CudaPeakMemory,
                     DEFAULT_SEEM_CONFIG, DEFAULT_TRAIN_CONFIG,
                     DEFAULT_TRAIN_M2F_CONFIG, DEFAULT_VIDEO_CONFIG,
                     DEFAULT_VIDEO_DIR, FEATS, FULL, M2F_CONFIG_NAME, MODES,
                     RATIO, REPO_ROOT, ROUND, SHARE, TRAIN_EXPECTED, VOCAB,
                     default_m2f_config, machine_info, machine_line,
                     model_name)
from .infer import bench_seem, build_m2f, make_images
from .report import add_ratios, format_table, reference_rows
from .train import bench_train
from .video import bench_video


def parse_rounds(value: str):
    """``--rounds`` item: ``random`` or a non-negative integer."""
    if value == 'random':
        return value
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(
            f"{value!r}: use 'random' (the recipe's draw) or a number of "
            'corrective rounds >= 0')
    return n


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark SEEM (inference, training iterations, video '
        "propagation) against mmdet's Mask2Former.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=sys.modules[__package__].__doc__)
    parser.add_argument('--modes',
                        nargs='+',
                        choices=MODES,
                        default=['infer'],
                        help='what to benchmark (default: infer)')
    parser.add_argument('--configs',
                        nargs='+',
                        default=None,
                        help='SEEM configs (default per mode: infer '
                        'seem_focalt-v1_coco-panoptic, train '
                        'seem_focalt_coco, video seem_focalt-v1_davis)')
    parser.add_argument('--m2f-config',
                        default=None,
                        help=f"Mask2Former config (default: infer mmdet's "
                        f'{M2F_CONFIG_NAME}, train '
                        f'{osp.basename(DEFAULT_TRAIN_M2F_CONFIG)})')
    parser.add_argument('--no-m2f',
                        action='store_true',
                        help='skip the Mask2Former baseline')
    parser.add_argument('--sizes',
                        nargs='+',
                        type=int,
                        default=[512, 1024],
                        help='square input sizes in pixels (infer, train)')
    parser.add_argument('--device',
                        nargs='+',
                        default=None,
                        help='devices (default: cpu, plus cuda if '
                        'available)')
    parser.add_argument('--threads',
                        type=int,
                        default=None,
                        help='torch.set_num_threads (default: all cores)')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--prompts',
                        type=int,
                        default=1,
                        help='visual prompts in the interactive round')
    parser.add_argument('--clicks',
                        type=int,
                        default=3,
                        help='clicks per prompt')
    parser.add_argument('--vocab-classes',
                        type=int,
                        default=133,
                        help='SEEM vocabulary: the first K COCO panoptic '
                        'classes (things first; default all 133)')
    parser.add_argument('--batch-size',
                        type=int,
                        default=1,
                        help='train: images per iteration (default 1)')
    parser.add_argument('--rounds',
                        nargs='+',
                        type=parse_rounds,
                        default=['random'],
                        help="train: SEEM corrective rounds, 'random' (the "
                        "recipe's seeded draw) and / or fixed numbers, one "
                        'SEEM row each (default: random)')
    parser.add_argument('--unfrozen',
                        action='store_true',
                        help='train: add a SEEM row with nothing frozen')
    parser.add_argument('--amp',
                        action='store_true',
                        help='train: AmpOptimWrapper (CUDA only)')
    parser.add_argument('--video-dir',
                        default=DEFAULT_VIDEO_DIR,
                        help='video: one DAVIS sequence (JPEGImages/*.jpg, '
                        "Annotations/*.png) or 'synthetic' (default: "
                        '../shared/data/davis_car_shadow, synthetic frames '
                        'when absent)')
    parser.add_argument('--video-scale',
                        type=float,
                        default=None,
                        help="video: frame resize factor (default: the "
                        "config's test Resize, DAVIS: short side 800, long "
                        '<= 1333)')
    parser.add_argument('--video-reference',
                        default='first',
                        choices=('first', 'previous'),
                        help='video: reference prompt of each frame')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--no-inference-mode',
                        action='store_true',
                        help='torch.no_grad instead of inference_mode')
    parser.add_argument('--profile',
                        action='store_true',
                        help='print a torch.profiler table of the '
                        'interactive round to stderr')
    parser.add_argument('--out', default=None, help='JSON results file')
    args = parser.parse_args(argv)
    args.modes = [m for m in MODES if m in args.modes]  # fixed order
    if args.warmup < 0 or args.repeat < 1:
        parser.error('--warmup must be >= 0 and --repeat >= 1')
    if any(s < 32 for s in args.sizes):
        parser.error(f'--sizes must be >= 32 px, got {args.sizes}')
    if args.prompts < 1 or args.clicks < 1:
        parser.error('--prompts and --clicks must be >= 1')
    if not 1 <= args.vocab_classes <= 133:
        parser.error('--vocab-classes must be in [1, 133]')
    if args.threads is not None and args.threads < 1:
        parser.error('--threads must be >= 1')
    if args.batch_size < 1:
        parser.error('--batch-size must be >= 1')
    if len(set(map(str, args.rounds))) != len(args.rounds):
        parser.error(f'--rounds has repeated values: {args.rounds}')
    if args.video_scale is not None and not args.video_scale > 0:
        parser.error('--video-scale must be > 0')
    if args.device is None:
        args.device = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    for d in args.device:
        if d.startswith('cuda') and not torch.cuda.is_available():
            parser.error(f'--device {d}: CUDA is not available in this '
                         'torch build / machine; use --device cpu')
        if not d.startswith(('cpu', 'cuda')):
            parser.error(f'--device {d}: use cpu or cuda[:N]')
    if args.amp and 'train' in args.modes and any(not d.startswith('cuda')
                                                  for d in args.device):
        parser.error('--amp (AmpOptimWrapper) needs CUDA: use --device cuda '
                     'or drop --amp (the CPU trains in fp32)')
    for c in (args.configs
              or []) + ([args.m2f_config] if args.m2f_config else []):
        if not osp.isfile(c):
            parser.error(f'config not found: {c}')
    return args


def main(argv=None) -> Dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    sys.path.insert(0, REPO_ROOT)
    from mmseem.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    grad_ctx = torch.no_grad if args.no_inference_mode \
        else torch.inference_mode
    infer_configs = args.configs or [DEFAULT_SEEM_CONFIG]
    m2f_config = None
    if 'infer' in args.modes and not args.no_m2f:
        m2f_config = args.m2f_config or default_m2f_config()
    train_configs = args.configs or [DEFAULT_TRAIN_CONFIG]
    train_m2f = None if args.no_m2f else (args.m2f_config
                                          or DEFAULT_TRAIN_M2F_CONFIG)
    video_configs = args.configs or [DEFAULT_VIDEO_CONFIG]

    info = machine_info(args.device)
    rows, train_rows, video_rows, mem_methods = [], [], [], {}
    refs = []
    for device in args.device:
        mem = CudaPeakMemory(device) if device.startswith('cuda') \
            else CpuPeakMemory()
        mem_methods[device] = mem.method
        if 'infer' in args.modes:
            images = make_images(args.sizes, args.seed)
            baseline = None
            if m2f_config:
                baseline = (build_m2f(m2f_config, device),
                            model_name(m2f_config), m2f_config)
            for i, config in enumerate(infer_configs):
                seem_rows = bench_seem(config, device, images, args, mem,
                                       grad_ctx, baseline)
                if i:  # one baseline row per size (from the first config)
                    seem_rows = [r for r in seem_rows if not r.get('baseline')]
                rows += seem_rows
            del baseline
            refs += reference_rows(infer_configs, device, args.sizes,
                                   torch.get_num_threads())
        if 'train' in args.modes:
            train_rows += bench_train(device, args, mem)
        if 'video' in args.modes:
            for config in video_configs:
                video_rows += bench_video(config, device, args, mem, grad_ctx)
    order = {
        m: i
        for i, m in enumerate((FULL, FEATS, ROUND, SHARE, VOCAB, RATIO))
    }
    rows = add_ratios(rows)

    def sort_key(r):
        cfg = r['config']
        return (args.device.index(r['device']), r['size'],
                bool(r.get('baseline')),
                infer_configs.index(cfg) if cfg in infer_configs else 0,
                order[r['measurement']])

    rows.sort(key=sort_key)
    rows += refs
    for r in rows:
        r['mode'] = 'infer'
    rows += train_rows + video_rows
    info['loadavg_end'] = machine_info(args.device).get('loadavg')
    table = format_table(rows)
    grad_mode = 'no_grad' if args.no_inference_mode else 'inference_mode'
    print(machine_line(info))
    print(f'modes: {" ".join(args.modes)}; warm-up {args.warmup}, repeat '
          f'{args.repeat} (median, min); random weights')
    if 'infer' in args.modes:
        print(f'infer: grad mode {grad_mode}; seeded uint8 noise images')
    if 'train' in args.modes:
        print(f'train: model.train_step (preprocess + loss + backward + '
              f"optimizer step, the configs' optim_wrapper"
              f"{', AMP' if args.amp else ''}), batch {args.batch_size} of "
              'seeded synthetic panoptic scenes (+ 1 sentence each for '
              'SEEM), models interleaved per iteration, iteration k seeded '
              f'(seed {args.seed}, k); SEEM rounds: '
              f"{' '.join(map(str, args.rounds))}")
        if any(r['measurement'] == TRAIN_EXPECTED for r in train_rows):
            print('train: expected over the rounds = mean of the 0-round '
                  'and max-round medians (the recipe draws the rounds '
                  'uniformly in 0..max; each round is one more no-grad '
                  'decoder pass, so the cost is linear in the rounds)')
        frozen = sorted({
            f"{r['model']}: {', '.join(r['frozen']) or 'nothing'}"
            for r in train_rows
            if r.get('frozen') is not None and not r.get('unfrozen')
        })
        if frozen:
            print(f"train: frozen as configured (requires_grad=False): "
                  f"{'; '.join(frozen)}")
    if 'video' in args.modes:
        print('video: mmseem.apis.propagate_video, per frame: resize + '
              'preprocessing + predict_refimg (the reference frame is '
              'not timed)')
    print()
    print(table)
    print()
    for device, method in mem_methods.items():
        what = ('peak during the timed runs' if device.startswith('cuda') else
                'peak RSS during the timed runs minus RSS before them')
        print(f'peak mem on {device}: {what} ({method})')
        if 'train' in args.modes:
            print(f'  train rows on {device}: parameters + buffers + '
                  'optimizer state, plus the largest per-iteration peak '
                  'over the memory before the iteration')
    result = dict(machine=info,
                  settings=dict(modes=args.modes,
                                configs=infer_configs,
                                m2f_config=m2f_config,
                                train_configs=train_configs,
                                train_m2f_config=train_m2f,
                                video_configs=video_configs,
                                sizes=args.sizes,
                                devices=args.device,
                                threads=torch.get_num_threads(),
                                warmup=args.warmup,
                                repeat=args.repeat,
                                prompts=args.prompts,
                                clicks=args.clicks,
                                seed=args.seed,
                                vocab_classes=args.vocab_classes,
                                batch_size=args.batch_size,
                                rounds=args.rounds,
                                unfrozen=args.unfrozen,
                                amp=args.amp,
                                video_dir=args.video_dir,
                                video_scale=args.video_scale,
                                video_reference=args.video_reference,
                                grad_mode=grad_mode),
                  memory_methods=mem_methods,
                  columns=list(COLUMNS),
                  results=rows,
                  table=table)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'results written to {args.out}')
    return result
