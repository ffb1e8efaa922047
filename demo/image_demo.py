"""Run SEEM on one image and save the drawn result.

    python demo/image_demo.py IMG CONFIG [--checkpoint CKPT]
        [--task panoptic|semantic|instance|referring|interactive]
        [--text SENTENCE ...] [--points x,y,label ...]
        [--boxes x1,y1,x2,y2 ...] [--vocabulary NAME ...] [--device cpu] [--out-file OUT.png]

Examples::

    # open-vocabulary panoptic segmentation
    python demo/image_demo.py img.jpg CONFIG --checkpoint CKPT \\
        --vocabulary dog cat --out-file pan.png
    # referring segmentation (one mask per sentence)
    python demo/image_demo.py img.jpg CONFIG --checkpoint CKPT \\
        --text "the black dog" --out-file ref.png
    # clicks: all --points form ONE prompt (one object); label 1 = positive,
    # 0 = negative; each --boxes entry is one more object
    python demo/image_demo.py img.jpg CONFIG --checkpoint CKPT \\
        --points 120,80,1 40,30,0 --out-file click.png

The task defaults to 'interactive' with --points/--boxes, 'referring' with
--text, else the config's test_cfg.task. An existing --out-file is never
overwritten (the demo stops before running the model).
"""
import argparse
import sys

import numpy as np

TASKS = ('panoptic', 'semantic', 'instance', 'referring', 'interactive')


def _floats(text: str, n: int, what: str):
    try:
        vals = [float(v) for v in text.split(',')]
    except ValueError:
        vals = []
    if len(vals) != n:
        raise argparse.ArgumentTypeError(
            f'{what} {text!r}: expected {n} comma-separated numbers')
    return vals


def point(text: str):
    x, y, label = _floats(text, 3, 'point (x,y,label)')
    if label not in (0, 1):
        raise argparse.ArgumentTypeError(
            f'point {text!r}: label must be 1 (positive) or 0 (negative)')
    return x, y, int(label)


def box(text: str):
    return _floats(text, 4, 'box (x1,y1,x2,y2)')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('img', help='image file')
    p.add_argument('config', help='SEEM config file')
    p.add_argument('--checkpoint', default=None, help='checkpoint file')
    p.add_argument('--task', choices=TASKS, default=None)
    p.add_argument('--text', nargs='+', default=None,
                   help='sentences (referring, or with visual prompts)')
    p.add_argument('--points', nargs='+', type=point, default=None,
                   metavar='X,Y,LABEL', help='clicks of one object')
    p.add_argument('--boxes', nargs='+', type=box, default=None,
                   metavar='X1,Y1,X2,Y2', help='one box per object')
    p.add_argument('--vocabulary', nargs='+', default=None,
                   help='class names for panoptic/semantic/instance labels')
    p.add_argument('--device', default='cpu')
    p.add_argument('--out-file', default=None, help='save the drawing here')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import os
    if args.out_file and os.path.exists(args.out_file):
        raise FileExistsError(f'--out-file {args.out_file!r} exists; it is '
                              'not overwritten: choose another name')
    from mmseem.apis import SEEMInferencer, load_image
    from mmseem.apis.safe_write import encode_image, write_new_file
    from mmseem.structures import VisualPrompts

    inferencer = SEEMInferencer(args.config, args.checkpoint,
                                device=args.device)
    prompts = None
    if args.points or args.boxes:
        size = load_image(args.img).shape[:2]
        sets = []
        if args.points:
            sets.append(VisualPrompts.from_points(
                [np.asarray([[x, y] for x, y, _ in args.points])],
                labels=[[lb for *_, lb in args.points]], image_size=size))
        if args.boxes:
            sets.append(VisualPrompts.from_boxes(
                np.asarray(args.boxes, dtype=np.float64), image_size=size))
        prompts = VisualPrompts.cat(sets)
    text = args.text if args.text is None or len(args.text) > 1 else \
        args.text[0]
    out = inferencer(
        args.img,
        task=args.task,
        texts=text,
        prompts=prompts,
        vocabulary=args.vocabulary,
        return_vis=args.out_file is not None)
    pred = out['predictions'][0]
    print(f"task: {pred['task']}")
    if 'masks' in pred:
        for i, (name, score) in enumerate(
                zip(pred['label_names'], pred['scores'])):
            area = int(pred['masks'][i].sum())
            print(f'  mask {i}: {name} score={score:.3f} area={area}px')
    if 'sem_seg' in pred:
        names = pred.get('class_names') or []
        ids, counts = np.unique(pred['sem_seg'], return_counts=True)
        print('  semantic: ' + ', '.join(
            f'{names[i] if i < len(names) else i}={c}px'
            for i, c in zip(ids.tolist(), counts.tolist())))
    if args.out_file:
        ext = os.path.splitext(args.out_file)[1] or '.png'
        os.makedirs(os.path.dirname(os.path.abspath(args.out_file)),
                    exist_ok=True)
        write_new_file(args.out_file,
                       encode_image(out['visualization'][0], ext))
        print(f'saved {args.out_file}')
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (ValueError, TypeError, FileNotFoundError,
            FileExistsError) as err:
        # bad input (image, prompts, options): the message says the fix
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
