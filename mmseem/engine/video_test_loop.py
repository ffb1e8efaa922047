"""Test loop for semi-supervised video object segmentation (DAVIS).

SEEM-specific, not in mmdet/mmseg: MMEngine's ``TestLoop`` treats samples
independently, but VOS needs the sequence's first frame (the reference
prompt) and, with ``reference='previous'``, the previous prediction. This
loop keeps that state in a :class:`mmseem.apis.video.VideoPropagator` and
otherwise behaves as ``TestLoop`` (hooks, evaluator, fp16).

Use with ``DAVISDataset`` (one item per frame, frames in order: a
``DefaultSampler`` with ``shuffle=False``) and ``VOSMetric``::

    test_cfg = dict(type='VideoTestLoop', reference='first')
"""
from typing import Dict, List, Sequence, Union

import torch
from mmengine.dataset import pseudo_collate
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop
from mmengine.runner.amp import autocast
from torch.utils.data import DataLoader

from mmseem.apis.video import VideoPropagator
from mmseem.registry import LOOPS


@LOOPS.register_module()
class VideoTestLoop(TestLoop):
    """``TestLoop`` that propagates reference masks through each video.

    Args:
        runner, dataloader, evaluator, fp16: as :class:`TestLoop`.
        reference (str): ``'first'`` (default) or ``'previous'``; see
            :mod:`mmseem.apis.video`.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Dict, List],
                 fp16: bool = False,
                 reference: str = 'first') -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self.reference = reference
        self.propagator = None

    @property
    def _model(self):
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    def _load_reference(self, sample):
        """Frame 0 of ``sample``'s sequence through the test pipeline."""
        dataset = self.dataloader.dataset
        seq = sample.metainfo.get('seq_name')
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            if info.get('seq_name') == seq and info.get('frame_idx') == 0:
                data = self._model.data_preprocessor(
                    pseudo_collate([dataset[i]]), False)
                return data['inputs'], data['data_samples'][0]
        raise RuntimeError(f'frame 0 of sequence {seq!r} is not in the '
                           'test dataset')

    def run(self) -> dict:
        """Launch test with a fresh propagator."""
        self.propagator = VideoPropagator(
            self._model, reference=self.reference,
            load_reference=self._load_reference)
        return super().run()

    @torch.no_grad()
    def run_iter(self, idx, data_batch: Sequence[dict]) -> None:
        """Propagate the reference into one batch of frames."""
        self.runner.call_hook(
            'before_test_iter', batch_idx=idx, data_batch=data_batch)
        with autocast(enabled=self.fp16):
            data = self._model.data_preprocessor(data_batch, False)
            outputs = self.propagator(data['inputs'], data['data_samples'])
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook(
            'after_test_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)
