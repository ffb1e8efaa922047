"""SEEM post-processing: mmdet's fusion semantics, official numbering."""
import torch
from mmdet.evaluation.functional import INSTANCE_OFFSET
from mmdet.models.seg_heads.panoptic_fusion_heads import MaskFormerFusionHead
from mmengine.structures import BaseDataElement

from mmseem.models.heads.seem_postprocess import (GenericResults,
                                                  generic_results)


def _mmdet(cfg, cls, masks):
    head = MaskFormerFusionHead(
        num_things_classes=cfg.num_things, num_stuff_classes=cfg.num_stuff,
        test_cfg=dict(object_mask_thr=cfg.object_mask_thr,
                      iou_thr=cfg.iou_thr, filter_low_score=True,
                      max_per_image=cfg.max_per_image))
    return (head.panoptic_postprocess(cls, masks),
            head.instance_postprocess(cls, masks))


def test_same_results_as_mmdet_fusion_head():
    g = torch.Generator().manual_seed(0)
    cfg = GenericResults(3, 2, True, True, True, object_mask_thr=0.3,
                         iou_thr=0.5, max_per_image=20)
    cls = torch.randn(12, 6, generator=g) * 3
    masks = torch.randn(12, 24, 32, generator=g) * 4
    out = BaseDataElement()
    generic_results(cfg, cls, masks, out)
    pan, ins = _mmdet(cfg, cls, masks)
    assert len(pan.sem_seg.unique()) > 2  # a real fusion, not all void
    assert torch.equal(out.pred_panoptic_seg.sem_seg, pan.sem_seg)
    for k in ('labels', 'scores', 'masks', 'bboxes'):
        assert torch.equal(out.pred_instances[k], ins[k]), k
    seg = torch.einsum('qc,qhw->chw', cls.softmax(-1)[:, :-1],
                       masks.sigmoid())
    assert torch.equal(out.seg_logits.data, seg)
    assert torch.equal(out.pred_sem_seg.data, seg.argmax(0, keepdim=True))


def test_empty_final_mask_takes_no_instance_id():
    """Query B wins pixel 1 only below 0.5 and is >= 0.5 only where A wins:
    its final mask is empty. Official SEEM skips it, so C is instance 2
    (mmdet's fusion head numbers it 3)."""
    logit = {0.9: 2.1972, 0.6: 0.4055, 0.4: -0.4055, 0.0: -20.0}
    per_query = [[0.9, 0.0, 0.0, 0.0],   # A
                 [0.6, 0.4, 0.0, 0.0],   # B
                 [0.0, 0.0, 0.9, 0.0]]   # C
    masks = torch.tensor([[[logit[v] for v in row]] for row in per_query])
    cls = torch.tensor([[5.0, -5.0]] * 3)  # one thing class, then no-object
    cfg = GenericResults(1, 0, True, False, False, object_mask_thr=0.5,
                         iou_thr=0.8, max_per_image=3)
    out = BaseDataElement()
    generic_results(cfg, cls, masks, out)
    ids = out.pred_panoptic_seg.sem_seg[0, 0].tolist()
    assert ids[0] == 0 + 1 * INSTANCE_OFFSET  # A
    assert ids[2] == 0 + 2 * INSTANCE_OFFSET  # C, B skipped
    assert ids[1] == cfg.num_classes  # void
    pan, _ = _mmdet(cfg, cls, masks)
    assert pan.sem_seg[0, 0, 2] == 3 * INSTANCE_OFFSET  # mmdet's numbering
