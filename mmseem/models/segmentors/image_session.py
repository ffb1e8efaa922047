"""Interactive image sessions of a SEEM model (click evaluation).

SEEM-specific, not in mmdet/mmseg. The click evaluation
(:func:`mmseem.evaluation.interactive_session.
run_interactive_evaluation`) calls ``predict_prompts`` once per click
round on the same image; this wrapper gives those rounds one random stream
(seeded once, as the official evaluation lets its stream run on across
rounds) and one prepared-feature cache, both owned here (nobody writes into
the caller's features).
"""
from typing import List, Sequence

from ..heads.features import ImageFeatures

__all__ = ['ImageSession', 'evaluate_clicks']


class ImageSession:
    """The model seen through one image's session (other attributes are the
    model's).

    Args:
        model (SEEM): the segmentor.
        feats (ImageFeatures): features of the one image of the session.
    """

    def __init__(self, model, feats: ImageFeatures):
        self._model = model
        self._feats = model.sem_seg_head.prepare(ImageFeatures.of(feats))
        self.generator = model.session_generator(self._feats.device)

    def __getattr__(self, name):
        return getattr(self._model, name)

    def predict_prompts(self, feats, data_samples: Sequence) -> List:
        """One round on the session's image (``feats``, this image's
        features sliced by the caller, are checked and then replaced by
        the prepared ones)."""
        feats = ImageFeatures.of(feats)
        if feats.mask_features.shape != self._feats.mask_features.shape:
            raise ValueError('ImageSession: features of another image')
        return self._model.predict_prompts(self._feats, data_samples,
                                           generator=self.generator)


def evaluate_clicks(model, feats: ImageFeatures,
                    data_samples: Sequence) -> List:
    """Play the user with a click protocol on every GT object of every
    sample (one :class:`ImageSession` per image) and store
    ``interactive_ious`` [num_objects, max_clicks] for
    ``InteractiveMetric``; settings from ``model.test_cfg``
    (``interactive_protocol``, ``max_clicks``, ``ignore_regions``:
    ``'ignored_instances'`` leaves e.g. GrabCut's band out of the IoU;
    ``stop_iou``: standard protocol only, stop an object at that IoU, e.g.
    0.95 for RITM's NoC-only runs; default None clicks on to
    ``max_clicks`` as the mIoU@k curve needs)."""
    from mmseem.evaluation.interactive_session import \
        run_interactive_evaluation
    cfg = model.test_cfg
    feats = ImageFeatures.of(feats)
    for i, sample in enumerate(data_samples):
        # a SEEM gets a session; a bare predict_prompts model plays as is
        session = ImageSession(model, feats.select(i)) \
            if hasattr(model, 'session_generator') else model
        run_interactive_evaluation(
            session,
            feats,
            sample,
            protocol=cfg.get('interactive_protocol', 'seem'),
            max_clicks=cfg.get('max_clicks', 20),
            batch_idx=i,
            ignore_mask=cfg.get('ignore_regions'),
            stop_iou=cfg.get('stop_iou'))
    return list(data_samples)
