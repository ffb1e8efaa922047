"""Build a SEEM model from a config and a checkpoint for the APIs.

The counterpart of ``mmseg.apis.init_model`` (same arguments, same result:
an eval-mode model with ``model.cfg`` and, from the checkpoint's
``meta.dataset_meta``, its default vocabulary), written for SEEM because
mmseg's function assumes an mmseg checkpoint and an ``EncoderDecoder``:

* a **plain state dict** (no ``meta``, e.g. ``torch.save(model.state_dict())``)
  makes ``mmseg.apis.init_model`` stop with ``KeyError: 'meta'``; here it
  loads, and the model keeps the vocabulary of ``test_cfg.vocabulary`` (or
  none: call ``model.set_vocabulary``);
* a ``meta`` without ``dataset_meta`` makes mmseg guess the classes from
  ``model.decode_head.num_classes`` (``AttributeError`` on SEEM, which is
  open-vocabulary); here no vocabulary is guessed;
* a checkpoint that does not fit the config (another model, another SEEM
  size) is :class:`mmseem.utils.checkpoint_fit.CheckpointMismatchError`
  with both loaders (SEEM checks every state dict loaded into it), where
  mmengine alone only logs the unmatched keys;
* a config or checkpoint path that does not exist is a
  ``FileNotFoundError`` naming the path and the working directory.

:class:`SEEMPredictor.from_config` uses it; checkpoints are read with
``torch.load``'s safe ``weights_only`` loader (MMEngine's types are
allow-listed by :mod:`mmseem.utils.checkpoint_safety`).
"""
import copy
import os
from pathlib import Path
from typing import Optional, Union

from mmengine.config import Config

__all__ = ['init_model', 'load_config', 'check_checkpoint_path']


def _missing(path: str, what: str, hint: str) -> FileNotFoundError:
    return FileNotFoundError(
        f'{what} {path!r} does not exist (relative paths are resolved from '
        f'{os.getcwd()!r}); {hint}')


def check_checkpoint_path(checkpoint) -> None:
    """A local checkpoint path that does not exist: name it."""
    if checkpoint is not None and '://' not in str(checkpoint) and \
            not Path(str(checkpoint)).is_file():
        raise _missing(
            str(checkpoint), 'checkpoint',
            'official weights are converted with '
            'tools/model_converters/seem2mmseem.py')


def load_config(config: Union[str, Path, Config, dict],
                cfg_options: Optional[dict] = None) -> Config:
    """A config file / ``Config`` / dict -> a ``Config`` copy (with
    ``cfg_options`` merged); a missing file names the path."""
    if isinstance(config, (str, Path)):
        path = str(config)
        if not Path(path).is_file():
            raise _missing(
                path, 'config file',
                'SEEM configs are under configs/seem/, e.g. '
                'configs/seem/seem_focalt-v1_coco-panoptic.py')
        cfg = Config.fromfile(path)
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)  # never written into the caller's
    elif isinstance(config, dict):
        cfg = Config(copy.deepcopy(config))
    else:
        raise TypeError('config must be a config file path, a Config or a '
                        f'dict; got {type(config).__name__}')
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise ValueError(f'the config {config!r:.120} has no `model`; give '
                         'a SEEM model config (configs/seem/*.py)')
    return cfg


def init_model(config: Union[str, Path, Config, dict],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None):
    """Build a model for inference (see the module docstring).

    Args:
        config: config file path, ``Config`` or dict.
        checkpoint (str, optional): an MMEngine checkpoint (``state_dict`` +
            ``meta``) or a plain state dict file.
        device (str): e.g. ``'cpu'``, ``'cuda:0'``.
        cfg_options (dict, optional): overrides merged into the config.

    Returns:
        the model in eval mode, with ``model.cfg`` (and
        ``model.dataset_meta`` when the checkpoint has one).
    """
    import mmseem.models  # noqa: F401  (register SEEM)
    from mmengine.registry import init_default_scope
    from mmengine.runner.checkpoint import (_load_checkpoint,
                                            _load_checkpoint_to_model)

    from mmseem.registry import MODELS
    cfg = load_config(config, cfg_options)
    check_checkpoint_path(checkpoint)
    cfg.model.pretrained = None
    cfg.model.train_cfg = None  # inference: no criterion is built
    init_default_scope(cfg.get('default_scope', 'mmseem'))
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        ckpt = _load_checkpoint(str(checkpoint), map_location='cpu')
        if not isinstance(ckpt, dict):
            raise TypeError(
                f'checkpoint {checkpoint!r} holds a {type(ckpt).__name__}, '
                'not a state dict (or a dict with `state_dict`)')
        _load_checkpoint_to_model(model, ckpt)  # SEEM checks the fit
        meta = ckpt.get('meta')
        meta = meta if isinstance(meta, dict) else {}
        if meta.get('dataset_meta'):
            model.dataset_meta = dict(meta['dataset_meta'])
        elif meta.get('CLASSES'):  # checkpoints of OpenMMLab 0.x
            model.dataset_meta = dict(classes=list(meta['CLASSES']))
    model.cfg = cfg
    model.to(device)
    return model.eval()
