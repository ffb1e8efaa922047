"""The shared training batch of ``--modes train``: seeded scenes of
mmseem's synthetic generator packed as mmdet's panoptic loading + packing
give them (SEEM gets the referring sentence too)."""
from typing import Dict

import numpy as np
import torch


def synthetic_scene(size: int, seed: int, index: int) -> Dict:
    """One seeded scene of mmseem's synthetic generator
    (:mod:`mmseem.datasets.synthetic`) at ``size`` x ``size``: the BGR image,
    the visible thing masks with their shape index, the stuff masks and one
    referring sentence that singles out one object (as the generator writes
    them), with that object's index."""
    from mmseem.datasets.synthetic import make_scene
    scene = make_scene(size, seed, index, 'train')
    objs = scene.objects
    if scene.sentences:
        text_ind, text = scene.sentences[0]
    elif objs:
        text_ind, text = 0, f'the {objs[0].color} {objs[0].shape}'
    else:
        text_ind, text = None, None
    return dict(
        img=np.ascontiguousarray(scene.image[..., ::-1]),  # RGB -> BGR
        things=[o.mask for o in objs],
        thing_ids=[o.label for o in objs],
        stuff=scene.stuff_masks(),
        text=text,
        text_ind=text_ind)


def pack_train_sample(scene: Dict, num_things: int, num_stuff: int,
                      with_text: bool):
    """A scene -> (uint8 CHW tensor, DetDataSample) as mmdet's
    ``LoadPanopticAnnotations`` + ``PackDetInputs`` (+ ``PackSEEMInputs``'
    ``gt_texts`` / ``gt_text_inds``) give them. Thing ``k`` gets label
    ``k % num_things``, stuff ``s`` label ``num_things + s % num_stuff``
    (ignored when the model has no stuff classes)."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData, PixelData
    if num_things < 1:
        raise ValueError('--modes train needs models with thing classes '
                         f'(got {num_things})')
    img = scene['img']
    h, w = img.shape[:2]
    labels = [t % num_things for t in scene['thing_ids']]
    sem = np.full((h, w), 255, np.int64)
    for m, lab in zip(scene['things'], labels):
        sem[m] = lab
    if num_stuff:
        for s, m in scene['stuff']:
            sem[m] = num_things + s % num_stuff
    masks = np.stack(scene['things']).astype(np.uint8) if labels \
        else np.zeros((0, h, w), np.uint8)
    boxes = []
    for m in scene['things']:
        ys, xs = np.nonzero(m)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    sample = DetDataSample(metainfo=dict(img_shape=(h, w),
                                         ori_shape=(h, w),
                                         scale_factor=(1.0, 1.0),
                                         flip=False,
                                         flip_direction=None))
    sample.gt_instances = InstanceData(
        labels=torch.tensor(labels, dtype=torch.long),
        bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        masks=BitmapMasks(masks, h, w))
    sample.gt_sem_seg = PixelData(sem_seg=torch.from_numpy(sem[None]))
    if with_text and scene['text'] is not None:
        sample.gt_texts = [scene['text']]
        sample.gt_text_inds = torch.tensor([scene['text_ind']])
    inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    return inputs, sample
