"""SEEM head: pixel decoder + SEEM decoder (official ``sem_seg_head``).

SEEM-specific, not in mmdet/mmseg (X-Decoder's ``XdecoderHead``): joins the
pixel decoder, which turns backbone features into per-pixel ``mask_features``
and three multi-scale features, and the SEEM decoder (``predictor``), which
turns them plus prompts into mask / class / grounding predictions.
"""
from typing import Dict, Optional, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mmseem.registry import MODELS
from mmseem.structures.tasks import Task

__all__ = ['SEEMHead']


@MODELS.register_module()
class SEEMHead(BaseModule):
    """SEEM head (checkpoint keys ``sem_seg_head.pixel_decoder.*`` and
    ``sem_seg_head.predictor.*``).

    Args:
        pixel_decoder (dict): Pixel decoder config; its ``forward_features``
            returns ``(mask_features, ..., multi_scale_features)`` with
            ``multi_scale_features`` 3 maps, lowest resolution first.
        predictor (dict): :class:`SEEMDecoder` config.

    Interactive use: call :meth:`forward_features` (and
    ``predictor.prepare_features``) once per image and then :meth:`decode`
    (or ``predictor(...)``) per round with new prompts; the cached features
    are never modified.
    """

    def __init__(self, pixel_decoder: dict, predictor: dict, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.pixel_decoder = MODELS.build(pixel_decoder)
        self.predictor = MODELS.build(predictor)

    def forward_features(self, feats: Dict[str, Tensor]
                         ) -> Tuple[Tensor, list]:
        """Backbone features ``res2..res5`` -> (mask_features [B, C, H/4,
        W/4], multi_scale_features: 3 x [B, C, h, w], low resolution
        first)."""
        out = self.pixel_decoder.forward_features(feats)
        mask_features, multi_scale_features = out[0], out[-1]
        return mask_features, list(multi_scale_features)

    def decode(self,
               mask_features: Tensor,
               multi_scale_features: list,
               task: Union[Task, str] = Task.PANOPTIC,
               prompts: Optional[dict] = None,
               generator: Optional[torch.Generator] = None,
               prepared=None) -> Dict:
        """Run the SEEM decoder on (cached) pixel-decoder outputs.

        ``prepared``: the predictor's ``prepare_features(
        multi_scale_features)``, computed once per image, so that a round
        skips the prompt-independent work (see :class:`SEEMDecoder`).
        """
        return self.predictor(
            multi_scale_features,
            mask_features,
            task=task,
            prompts=prompts,
            generator=generator,
            prepared=prepared)

    def forward(self,
                feats: Dict[str, Tensor],
                task: Union[Task, str] = Task.PANOPTIC,
                prompts: Optional[dict] = None,
                generator: Optional[torch.Generator] = None) -> Dict:
        """Backbone features ``res2..res5`` + prompts -> predictions.

        ``prompts`` is the decoder's ``extra`` dict (see
        :class:`SEEMDecoder`).
        """
        mask_features, multi_scale_features = self.forward_features(feats)
        return self.decode(mask_features, multi_scale_features, task,
                           prompts, generator)
