"""Give the model the test / val dataset's ``metainfo`` when it has none.

SEEM-specific need, not in MMEngine: an open-vocabulary SEEM takes its
vocabulary from ``model.dataset_meta`` (``thing_classes`` +
``stuff_classes``, or ``classes``), but MMEngine only sets that attribute
from a checkpoint's ``meta`` -- a random-init model, or a converted official
checkpoint without ``dataset_meta``, has no vocabulary in ``Runner.test()``.
This hook copies the dataset's metainfo to the model before val / test
unless the model already has a non-empty ``dataset_meta`` (or
``overwrite=True``)::

    custom_hooks = [dict(type='ModelDatasetMetaHook')]
"""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseem.registry import HOOKS


@HOOKS.register_module()
class ModelDatasetMetaHook(Hook):
    """Set ``model.dataset_meta`` from the evaluated dataset.

    Args:
        overwrite (bool): replace an existing ``dataset_meta``.
    """
    priority = 'VERY_HIGH'

    def __init__(self, overwrite: bool = False) -> None:
        self.overwrite = overwrite

    def _set(self, runner, loop) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        meta = getattr(loop.dataloader.dataset, 'metainfo', None)
        if not meta:
            return
        if self.overwrite or not getattr(model, 'dataset_meta', None):
            model.dataset_meta = dict(meta)

    def before_val(self, runner) -> None:
        self._set(runner, runner.val_loop)

    def before_test(self, runner) -> None:
        self._set(runner, runner.test_loop)
