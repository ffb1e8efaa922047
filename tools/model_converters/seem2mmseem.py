"""Convert a released SEEM / X-Decoder checkpoint into an mmseem checkpoint.

    python tools/model_converters/seem2mmseem.py SRC DST
        (--config CONFIG | --manifest MANIFEST.json) [--partial]
        [--unsafe-load]

SRC is a released flat state dict (``seem_focalt_v1.pt``,
``seem_focall_v1.pt``, ``seem_focal{t,l}_v0.pt``, ``xdecoder_focalt_last.pt``,
``xdecoder_focall_last_oq101.pt``) or a training checkpoint (a dict with
``model``/``state_dict``; keys may carry ``module.model.`` or ``model.``).
The target keys come from the mmseem model built from ``--config`` or, before
a model exists, from a key manifest (``tests/data/official_keys/*.json``).
Any missing, unexpected or mis-shaped key is an error (exit code 1) that
names the offenders. X-Decoder's captioning / retrieval tensors
(``caping_embed``, ``pos_embed_caping``, ``backbone_proj``: heads mmseem does
not implement) are dropped and listed. ``--partial`` initialises a larger
model from a smaller one, as SEEM's training starts from X-Decoder: target
keys absent from SRC (the spatial-prompt parts) are listed and left out, so
``load_from`` keeps their initialisation::

    python tools/model_converters/seem2mmseem.py xdecoder_focalt_last.pt \
        checkpoints/xdecoder_focalt_last_mmseem.pth \
        --config configs/seem/seem_focalt_coco.py --partial
DST loads with ``mmengine.runner.load_checkpoint`` and
``mmseg.apis.init_model(cfg, DST)``, also under ``weights_only=True``.

Nothing is lost: DST equal to SRC (or a link to it) is refused, DST is
written to a temporary file and renamed, and a SRC holding NaN/Inf weights
is refused (naming the tensors) unless ``--allow-nonfinite``.
"""
import argparse
import os.path as osp
import sys

try:  # run from a source checkout without `pip install -e .`
    import mmseem  # noqa: F401
except ModuleNotFoundError:
    sys.path.insert(
        0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an official SEEM/X-Decoder checkpoint to mmseem')
    parser.add_argument('src', help='official .pt file or training checkpoint')
    parser.add_argument('dst', help='output mmseem checkpoint (.pth)')
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        '--config', help='mmseem config whose model gives the target keys')
    target.add_argument(
        '--manifest', help='key manifest JSON giving the target keys')
    parser.add_argument(
        '--partial', action='store_true',
        help='allow target keys that SRC lacks (e.g. SEEM from X-Decoder); '
        'they are listed and keep their initialisation under load_from')
    parser.add_argument(
        '--unsafe-load', action='store_true',
        help='load SRC with weights_only=False (trusted files only)')
    parser.add_argument(
        '--allow-nonfinite', action='store_true',
        help='convert even if SRC holds NaN/Inf weights (they are listed)')
    return parser.parse_args(argv)


def target_from_config(config_path):
    """Build the mmseem model of ``config_path``; return its key table, the
    names of its parameters and its derived buffers' values."""
    from mmengine.config import Config

    from mmseem.models.utils.checkpoint_convert import (DERIVED_BUFFERS,
                                                        shapes_of_model)
    from mmseem.registry import MODELS
    from mmseem.utils import register_all_modules

    register_all_modules()
    cfg = Config.fromfile(config_path)
    model = MODELS.build(cfg.model)
    buffers = {
        k: v
        for k, v in model.state_dict().items() if k in DERIVED_BUFFERS
    }
    return (shapes_of_model(model), [n for n, _ in model.named_parameters()],
            buffers)


def main(argv=None):
    args = parse_args(argv)
    from mmseem.models.utils.checkpoint_convert import (build_checkpoint,
                                                        convert_state_dict,
                                                        load_manifest,
                                                        load_source)
    from mmseem.utils.atomic_io import atomic_torch_save, refuse_same_file
    from mmseem.utils.nonfinite import describe_nonfinite, find_nonfinite
    try:
        refuse_same_file(args.src, args.dst, what='destination')
        param_keys, buffers = None, None
        if args.config:
            target, param_keys, buffers = target_from_config(args.config)
        else:
            target = load_manifest(args.manifest)
        source = load_source(args.src, unsafe=args.unsafe_load)
        state_dict, report = convert_state_dict(
            source, target, target_param_keys=param_keys,
            allow_missing=args.partial, buffer_defaults=buffers)
        bad = find_nonfinite(state_dict)
        if bad and not args.allow_nonfinite:
            raise ValueError(
                f'{args.src} holds NaN/Inf weights in {len(bad)} tensor(s): '
                f'{describe_nonfinite(bad)}. A converted model would predict '
                'NaN; get an intact copy of the checkpoint, or pass '
                '--allow-nonfinite to convert it anyway.')
    except (ValueError, TypeError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(report.summary())
    if bad:
        print(f'warning: converted despite NaN/Inf weights in {len(bad)} '
              f'tensor(s): {describe_nonfinite(bad)}', file=sys.stderr)
    ckpt = build_checkpoint(state_dict, converted_from=osp.basename(args.src))
    try:
        atomic_torch_save(ckpt, args.dst)
    except OSError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(f'saved {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
