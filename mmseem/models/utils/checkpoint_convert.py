"""Convert released SEEM / X-Decoder state dicts into mmseem checkpoints.

SEEM-specific, not in mmdet/mmseg: mmseem keeps the official attribute names
(``backbone.*``, ``sem_seg_head.pixel_decoder.*``,
``sem_seg_head.predictor.*`` with ``.lang_encoder.*``), so conversion is

1. unwrapping (``state_dict`` / ``model`` / ``module`` entries of a training
   checkpoint),
2. stripping a wrapper prefix shared by *all* keys (``module.model.``,
   ``module.``, ``model.``),
3. dropping the derived buffers of :data:`DERIVED_BUFFERS` that the target
   model does not hold, and
4. a strict check against the target key -> shape table (from an mmseem model
   or from a manifest in ``tests/data/official_keys``): every source tensor
   must land in exactly one target key and every target key must be filled.

No key is renamed: the names are kept as released, typos such as
``mask_sptial_embed`` included. All functions are pure (no file or model side
effects) except :func:`load_manifest` and :func:`load_source`, which read a
file.
"""
import json
from collections import OrderedDict
from typing import (Dict, Iterable, List, Mapping, NamedTuple, Optional,
                    Sequence, Tuple)

import torch

from .checkpoint_meta import build_checkpoint, build_dataset_meta

#: Wrapper prefixes of official training checkpoints, longest first:
#: ``module.`` from DistributedDataParallel, ``model.`` from the official
#: ``BaseModel`` wrapper. Only stripped when every key carries it.
WRAPPER_PREFIXES: Tuple[str, ...] = ('module.model.', 'module.', 'model.')

#: Persistent buffers of the official files that hold no learned value. They
#: are copied when the target model has the key, and dropped otherwise.
DERIVED_BUFFERS: Dict[str, str] = {
    'dilation_kernel':
    'SEEM: constant 1x1x3x3 ones used to dilate masks in interactive '
    'evaluation',
    'criterion.empty_weight':
    'cross-entropy class weights: ones with the no-object weight last; '
    'derived from num_classes and the no-object weight',
    'sem_seg_head.predictor.self_attn_mask':
    'X-Decoder: query/caption self-attention mask, derived from the number '
    'of queries and the text context length',
}

#: Official X-Decoder tensors of heads that mmseem does not implement
#: (image captioning and image-text retrieval; SEEM v1 dropped them too).
#: They are dropped, and listed in the report, when the target lacks them.
UNSUPPORTED_HEADS: Dict[str, str] = {
    'backbone_proj':
    'X-Decoder: image-text retrieval projection of the backbone features',
    'sem_seg_head.predictor.caping_embed':
    'X-Decoder: captioning output projection',
    'sem_seg_head.predictor.pos_embed_caping.weight':
    'X-Decoder: captioning token position embedding',
}

#: How many offending keys an error message lists before summarising.
MAX_LISTED = 20


class CheckpointMismatchError(ValueError):
    """The source state dict does not fit the target key -> shape table."""


class ConversionReport(NamedTuple):
    """What :func:`convert_state_dict` did (all counts are key counts)."""
    num_source: int
    num_target: int
    num_converted: int
    source_params: int
    target_params: int
    stripped_prefix: str
    dropped: List[str]
    dropped_unsupported: Tuple[str, ...] = ()
    left_at_init: Tuple[str, ...] = ()
    filled_buffers: Tuple[str, ...] = ()

    def summary(self) -> str:
        lines = [
            f'source (official) keys : {self.num_source} '
            f'({self.source_params:,} elements)',
            f'target (mmseem) keys   : {self.num_target} '
            f'({self.target_params:,} elements)',
            f'converted keys         : {self.num_converted}',
            f'stripped prefix        : {self.stripped_prefix!r}',
            f'dropped derived buffers: {len(self.dropped)}'
            + (f' {self.dropped}' if self.dropped else ''),
        ]
        if self.dropped_unsupported:
            lines.append(f'dropped unsupported heads: '
                         f'{len(self.dropped_unsupported)} '
                         f'{list(self.dropped_unsupported)}')
        if self.filled_buffers:
            lines.append(f'derived buffers from the target model: '
                         f'{list(self.filled_buffers)}')
        if self.left_at_init:
            lines.append(
                f'left at initialisation (--partial, not in the official '
                f'file): {len(self.left_at_init)}\n'
                + _listing(self.left_at_init))
        return '\n'.join(lines)


def _listing(keys: Sequence[str], limit: int = MAX_LISTED) -> str:
    keys = list(keys)
    head = '\n'.join(f'    {k}' for k in keys[:limit])
    more = f'\n    ... and {len(keys) - limit} more' if len(keys) > limit \
        else ''
    return head + more


def _numel(shape: Iterable[int]) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def extract_state_dict(
        checkpoint: Mapping) -> 'OrderedDict[str, torch.Tensor]':
    """Return the flat ``{name: tensor}`` dict inside ``checkpoint``.

    Accepts a released flat state dict, or a training checkpoint holding it
    under ``state_dict``, ``model`` or ``module``.
    """
    if not isinstance(checkpoint, Mapping):
        raise TypeError(
            f'expected a state dict or a checkpoint dict, got '
            f'{type(checkpoint).__name__}; pass the file saved by torch.save')
    sd = checkpoint
    for _ in range(3):
        if sd and all(isinstance(v, torch.Tensor) for v in sd.values()):
            break
        for wrapper in ('state_dict', 'model', 'module'):
            if isinstance(sd.get(wrapper), Mapping):
                sd = sd[wrapper]
                break
        else:
            break
    if not sd:
        raise ValueError('the checkpoint holds no tensors')
    bad = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise TypeError(
            f'{len(bad)} entries are not tensors, so this is not a state '
            f'dict (keys: {sorted(sd)[:10]}); pass a released SEEM/X-Decoder '
            f'file or a checkpoint with a "state_dict"/"model" entry:\n'
            + _listing(bad))
    return OrderedDict(sd)


def strip_wrapper_prefix(
        state_dict: Mapping[str, torch.Tensor],
        prefixes: Sequence[str] = WRAPPER_PREFIXES
) -> Tuple['OrderedDict[str, torch.Tensor]', str]:
    """Strip wrapper prefixes that *every* key shares.

    Returns the new dict and the removed prefix (``''`` if none), e.g.
    ``module.model.backbone.x`` -> ``backbone.x``.
    """
    removed = ''
    sd = OrderedDict(state_dict)
    changed = True
    while changed and sd:
        changed = False
        for p in prefixes:
            if all(k.startswith(p) for k in sd):
                sd = OrderedDict((k[len(p):], v) for k, v in sd.items())
                removed += p
                changed = True
                break
    return sd, removed


def convert_state_dict(
    checkpoint: Mapping,
    target_shapes: Mapping[str, Sequence[int]],
    derived_buffers: Mapping[str, str] = DERIVED_BUFFERS,
    target_param_keys: Optional[Iterable[str]] = None,
    unsupported: Mapping[str, str] = UNSUPPORTED_HEADS,
    allow_missing: bool = False,
    buffer_defaults: Optional[Mapping[str, torch.Tensor]] = None,
) -> Tuple['OrderedDict[str, torch.Tensor]', ConversionReport]:
    """Map an official state dict onto the target key -> shape table.

    Args:
        checkpoint: a flat official state dict or a training checkpoint.
        target_shapes: ``{key: shape}`` of the mmseem model (see
            :func:`shapes_of_model`) or of a manifest (:func:`load_manifest`).
        derived_buffers: official keys dropped when the target lacks them.
        target_param_keys: names of the target's learnable parameters
            (``model.named_parameters()``); when given, every official key
            that is not a derived buffer must land in a parameter, not in a
            buffer.
        unsupported: official keys of heads mmseem does not implement
            (:data:`UNSUPPORTED_HEADS`), dropped when the target lacks them.
        allow_missing: partial initialisation, e.g. SEEM from an X-Decoder
            checkpoint (official ``load_from``: the spatial-prompt parts
            start from scratch). Target keys with no official tensor are
            left out of the result and listed in ``report.left_at_init``
            instead of raising; unexpected and mis-shaped keys still raise.
        buffer_defaults: values of the target model's derived buffers
            (:data:`DERIVED_BUFFERS`, e.g. SEEM's ``dilation_kernel`` when
            converting an X-Decoder file); used when the source lacks them.

    Returns:
        The converted state dict in target order, and a
        :class:`ConversionReport`.

    Raises:
        CheckpointMismatchError: (a ``ValueError``) listing missing,
            unexpected and shape-mismatched keys.
    """
    src = extract_state_dict(checkpoint)
    num_source = len(src)
    source_params = sum(v.numel() for v in src.values())
    sd, prefix = strip_wrapper_prefix(src)

    dropped = [
        k for k in sd if k in derived_buffers and k not in target_shapes
    ]
    for k in dropped:
        del sd[k]
    dropped_unsupported = tuple(
        k for k in sd if k in unsupported and k not in target_shapes)
    for k in dropped_unsupported:
        del sd[k]

    filled = []
    for k in target_shapes:
        if (k not in sd and k in derived_buffers and buffer_defaults
                and k in buffer_defaults):
            sd[k] = buffer_defaults[k].detach().clone()
            filled.append(k)

    missing = [k for k in target_shapes if k not in sd]
    left_at_init = ()
    if allow_missing and len(missing) < len(target_shapes):
        left_at_init, missing = tuple(missing), []
    unexpected = [k for k in sd if k not in target_shapes]
    mismatched = [
        f'{k}: official {list(sd[k].shape)} vs target '
        f'{list(target_shapes[k])}' for k in target_shapes
        if k in sd and tuple(sd[k].shape) != tuple(target_shapes[k])
    ]
    not_param = []
    if target_param_keys is not None:
        params = set(target_param_keys)
        not_param = [
            k for k in sd
            if k in target_shapes and k not in derived_buffers
            and k not in params
        ]
    if missing or unexpected or mismatched or not_param:
        parts = []
        if missing:
            parts.append(f'{len(missing)} target keys have no official '
                         f'tensor (missing):\n' + _listing(missing))
        if unexpected:
            parts.append(f'{len(unexpected)} official keys have no target '
                         f'(unexpected):\n' + _listing(unexpected))
        if mismatched:
            parts.append(f'{len(mismatched)} shape mismatches:\n'
                         + _listing(mismatched))
        if not_param:
            parts.append(f'{len(not_param)} official parameters land in a '
                         f'target buffer, not a parameter:\n'
                         + _listing(not_param))
        hint = ('Check that the config/manifest matches the checkpoint '
                '(Focal-T vs Focal-L, SEEM vs X-Decoder, number of queries); '
                'mmseem keeps the official module names, so a renamed module '
                'is a bug in the model, not in the file.')
        if missing and not unexpected and not mismatched:
            hint += (' To initialise a larger model from this file (e.g. '
                     'SEEM from X-Decoder), convert with --partial '
                     '(allow_missing=True).')
        raise CheckpointMismatchError(
            f'cannot convert (stripped prefix {prefix!r}):\n'
            + '\n'.join(parts) + '\n' + hint)

    out = OrderedDict((k, sd[k]) for k in target_shapes if k in sd)
    report = ConversionReport(
        num_source=num_source,
        num_target=len(target_shapes),
        num_converted=len(out),
        source_params=source_params,
        target_params=sum(_numel(s) for s in target_shapes.values()),
        stripped_prefix=prefix,
        dropped=dropped,
        dropped_unsupported=dropped_unsupported,
        left_at_init=left_at_init,
        filled_buffers=tuple(filled))
    return out, report


def shapes_of_model(model: torch.nn.Module) -> 'OrderedDict[str, tuple]':
    """Target table from a model: the keys its ``state_dict()`` saves."""
    return OrderedDict(
        (k, tuple(v.shape)) for k, v in model.state_dict().items())


def load_manifest(path: str) -> 'OrderedDict[str, tuple]':
    """Read a key manifest (``tests/data/official_keys/*.json``)."""
    with open(path, encoding='utf-8') as f:
        manifest = json.load(f, object_pairs_hook=OrderedDict)
    if not isinstance(manifest, Mapping) or 'keys' not in manifest:
        raise ValueError(f'{path} is not a key manifest: it needs a "keys" '
                         f'object mapping each key to its shape')
    return OrderedDict((k, tuple(v)) for k, v in manifest['keys'].items())


def select_prefix(shapes: Mapping[str, Sequence[int]],
                  prefix: str) -> 'OrderedDict[str, tuple]':
    """Sub-table under ``prefix`` with the prefix removed.

    For checking one module against a manifest, e.g.
    ``select_prefix(load_manifest(p), 'backbone.')`` against
    ``shapes_of_model(focalnet)``.
    """
    return OrderedDict((k[len(prefix):], tuple(s)) for k, s in shapes.items()
                       if k.startswith(prefix))


def load_source(path: str, unsafe: bool = False) -> Mapping:
    """Load an official file on CPU; ``weights_only`` unless ``unsafe``."""
    try:
        return torch.load(path, map_location='cpu', weights_only=not unsafe)
    except Exception as e:  # pickle errors have many types
        if unsafe:
            raise
        raise ValueError(
            f'torch.load({path!r}, weights_only=True) failed: {e}\n'
            f'If the file is a trusted training checkpoint that pickles '
            f'other objects, pass --unsafe-load.') from e


__all__ = [
    'WRAPPER_PREFIXES', 'DERIVED_BUFFERS',
    'CheckpointMismatchError', 'ConversionReport', 'extract_state_dict',
    'strip_wrapper_prefix', 'convert_state_dict',
    'shapes_of_model', 'load_manifest', 'select_prefix', 'build_dataset_meta',
    'build_checkpoint', 'load_source'
]
