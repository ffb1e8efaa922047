"""``SEEMInferencer``: every SEEM task on image files or arrays, one call.

Built on MMEngine's ``BaseInferencer`` like mmseg's ``MMSegInferencer`` and
mmdet's ``DetInferencer`` (``preprocess`` -> ``forward`` -> ``visualize``
-> ``postprocess``), with SEEM's tasks and prompts as call arguments.
SEEM-specific, not in mmdet/mmseg: the task switch, texts and visual
prompts.

Inputs follow :func:`mmseem.apis.load_image` (files, PIL images, arrays in
RGB unless ``image_format='BGR'`` is given to the constructor -- note that
mmdet/mmseg inferencers take BGR arrays). Predictions are numpy arrays at the
original image size; visualisations (:class:`SEEMVisualizer`: mmdet's
``DetLocalVisualizer`` plus the prompts and sentences) are saved under
``out_dir/vis/``.

Saved files never overwrite anything: ``vis/img.jpg`` for ``img.jpg``,
``vis/00000000.png`` counting up for arrays, ``_1``, ``_2``, ... added to a
taken name (:func:`save_new_image`); the files are returned as ``vis_files``.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.infer.infer import BaseInferencer, ModelType
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from mmengine.structures import InstanceData, PixelData

from mmseem.registry import INFERENCERS, VISUALIZERS
from mmseem.structures import VisualPrompts
from .image_io import load_image
from .input_checks import check_prompt_args, check_text
from .model_init import check_checkpoint_path, load_config
from .pipeline import build_inference_pipeline
from .safe_write import save_new_image

__all__ = ['SEEMInferencer']

TASKS = ('panoptic', 'semantic', 'instance', 'referring', 'interactive')
GENERIC = ('panoptic', 'semantic', 'instance')


def _palette(n: int, seed: int = 0) -> List[tuple]:
    rng = np.random.RandomState(seed)
    return [tuple(int(v) for v in c) for c in rng.randint(0, 256, (n, 3))]


@INFERENCERS.register_module(name=['seem', 'SEEMInferencer'])
class SEEMInferencer(BaseInferencer):
    """Inference of a SEEM model on images, for every SEEM task.

    Args:
        model (str | Config | dict): a config (file) of a SEEM model.
        weights (str, optional): checkpoint; its ``meta.dataset_meta`` gives
            the default vocabulary (``thing_classes``/``stuff_classes`` or
            ``classes``).
        device (str, optional): ``'cpu'``, ``'cuda:0'``, ... (default: the
            available one).
        scope (str): registry scope. Defaults to ``'mmseem'``.
        image_format (str): channel order of array inputs, ``'RGB'``
            (default) or ``'BGR'``.

    Example::

        inferencer = SEEMInferencer(cfg_file, ckpt, device='cpu')
        out = inferencer('demo.jpg', task='panoptic', out_dir='outputs')
        out = inferencer('demo.jpg', task='referring', texts='the dog')
        out = inferencer('demo.jpg', task='interactive',
                         prompts=dict(points=[[[120, 80]]]))
    """

    preprocess_kwargs: set = {'texts', 'prompts'}
    forward_kwargs: set = {'task'}
    visualize_kwargs: set = {'out_dir', 'show', 'wait_time', 'return_vis'}
    postprocess_kwargs: set = set()

    def __init__(self,
                 model: Union[ModelType, str],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: Optional[str] = 'mmseem',
                 image_format: str = 'RGB',
                 show_progress: bool = False) -> None:
        import mmseem.models  # noqa: F401  (register SEEM)
        if isinstance(model, str) and (model.endswith('.py') or os.sep in
                                       model) and not osp.isfile(model):
            load_config(model)  # FileNotFoundError naming the path
        check_checkpoint_path(weights)
        init_default_scope(scope or 'mmseem')
        self.image_format = image_format
        self.num_visualized_imgs = 0
        super().__init__(model=model, weights=weights, device=device,
                         scope=scope, show_progress=show_progress)
        if not hasattr(self.model, 'predict_generic'):
            raise TypeError('SEEMInferencer needs a SEEM model; the config '
                            f'builds {type(self.model).__name__}')

    # ------------------------------------------------------------------
    # BaseInferencer hooks
    # ------------------------------------------------------------------
    def _load_weights_to_model(self, model, checkpoint, cfg) -> None:
        if checkpoint is None:
            return super()._load_weights_to_model(model, checkpoint, cfg)
        _load_checkpoint_to_model(model, checkpoint)
        meta = checkpoint.get('meta', {}).get('dataset_meta')
        if meta:
            model.dataset_meta = meta

    def _init_pipeline(self, cfg) -> callable:
        transform = build_inference_pipeline(cfg.get('test_pipeline'))

        def pipeline(single_input):
            rgb = load_image(single_input, self.image_format)
            path = single_input if isinstance(single_input, str) else None
            return transform(rgb[..., ::-1].copy(), img_path=path)

        return pipeline

    def _init_collate(self, cfg):
        return pseudo_collate

    def _init_visualizer(self, cfg):
        vis_cfg = dict(cfg.get('visualizer') or dict(type='SEEMVisualizer'))
        vis_cfg['name'] = f'seem_inferencer_{id(self)}'
        # out_file is written directly; no backend needs a save_dir
        vis_cfg['vis_backends'] = None
        return VISUALIZERS.build(vis_cfg)

    def _inputs_to_list(self, inputs) -> list:
        if isinstance(inputs, (list, tuple)):
            return list(inputs)
        if isinstance(inputs, str) and osp.isdir(inputs):
            return super()._inputs_to_list(inputs)
        return [inputs]

    # ------------------------------------------------------------------
    # call
    # ------------------------------------------------------------------
    def __call__(self,
                 inputs,
                 task: Optional[str] = None,
                 texts: Union[str, Sequence, None] = None,
                 prompts: Union[dict, VisualPrompts, Sequence, None] = None,
                 vocabulary: Union[Sequence[str], dict, None] = None,
                 out_dir: Optional[str] = None,
                 batch_size: int = 1,
                 return_datasamples: bool = False,
                 show: bool = False,
                 return_vis: bool = False) -> Dict:
        """Run SEEM on ``inputs`` (a path, array, PIL image, a list of them
        or a directory).

        Args:
            task (str, optional): ``'panoptic'`` | ``'semantic'`` |
                ``'instance'`` (open vocabulary), ``'referring'`` (needs
                ``texts``), ``'interactive'`` (needs ``prompts``, may add
                ``texts``). Defaults to the config's ``test_cfg.task``, or
                to ``'interactive'``/``'referring'`` when prompts/texts are
                given.
            texts (str | list[str] | list[list[str]], optional): sentences
                for every image, or one list per image (a list of lists).
            prompts (dict | VisualPrompts | list, optional): visual prompts
                in original-image pixels: ``VisualPrompts.build`` arguments
                (``points``, ``point_labels``, ``boxes``, ``scribbles``,
                ``polygons``, ``masks``), the same for every image, or a list
                with one per image.
            vocabulary (list[str] | dict, optional): class names, or
                ``dict(thing_classes=..., stuff_classes=...)``; stays set on
                the model for later calls.
            out_dir (str, optional): save visualisations to
                ``out_dir/vis/<image name>``, never overwriting a file (see
                the module docstring).

        Returns:
            dict: ``predictions`` (one dict of numpy arrays per image, see
            :meth:`pred2dict`), ``visualization`` (RGB arrays, with
            ``return_vis`` or ``show``; else ``None``) and ``vis_files``
            (the files written under ``out_dir``, in input order).
        """
        if task is None:
            task = ('interactive' if prompts is not None else
                    'referring' if texts is not None else
                    self.model.test_cfg['task'])
        if task not in TASKS:
            raise ValueError(f'task={task!r} is unknown; choose one of '
                             f'{TASKS}')
        if task == 'referring' and texts is None:
            raise ValueError("task='referring' needs texts, e.g. "
                             "texts='the red circle'")
        if task == 'interactive' and prompts is None:
            raise ValueError("task='interactive' needs prompts, e.g. "
                             'prompts=dict(points=[[[x, y]]])')
        if task in GENERIC and (texts is not None or prompts is not None):
            raise ValueError(
                f"task={task!r} takes no texts/prompts; use task='referring' "
                "for texts or task='interactive' for visual prompts")
        if task == 'referring' and prompts is not None:
            raise ValueError("task='referring' takes texts only; for text + "
                             "visual prompts use task='interactive'")
        if isinstance(texts, (list, tuple)) and texts and all(
                isinstance(t, (list, tuple)) for t in texts):
            for i, t in enumerate(texts):  # one list of sentences per image
                check_text(t, f'texts[{i}]')
        else:
            check_text(texts, 'texts')
        if vocabulary is not None:  # a str is one class
            self.model.set_vocabulary(vocabulary)
        return super().__call__(
            inputs,
            return_datasamples=return_datasamples,
            batch_size=batch_size,
            task=task,
            texts=texts,
            prompts=prompts,
            out_dir=out_dir,
            show=show,
            return_vis=return_vis)

    @staticmethod
    def _per_image(value, n: int, what: str, is_single) -> list:
        if value is None:
            return [None] * n
        if is_single(value):
            return [value] * n
        if isinstance(value, (list, tuple)) and len(value) == n and all(
                v is None or is_single(v) for v in value):
            return list(value)
        raise ValueError(
            f'{what} must be given once for every image or as a list with '
            f'one entry per image ({n} images); got {value!r:.200}')

    def preprocess(self, inputs: list, batch_size: int = 1, texts=None,
                   prompts=None):
        n = len(inputs)
        texts = self._per_image(
            texts, n, 'texts', lambda v: isinstance(v, str) or (
                isinstance(v, (list, tuple)) and len(v) > 0 and all(
                    isinstance(s, str) for s in v)))
        prompts = self._per_image(
            prompts, n, 'prompts',
            lambda v: isinstance(v, (dict, VisualPrompts)))

        def attach(i_input):
            i, single = i_input
            data = self.pipeline(single)
            sample = data['data_samples']
            size = tuple(sample.metainfo['ori_shape'][:2])
            if texts[i] is not None:
                sample.text = texts[i]
            if prompts[i] is not None:
                vp = prompts[i]
                if isinstance(vp, dict):
                    check_prompt_args(vp)
                    vp = VisualPrompts.build(size, **vp)
                elif tuple(vp.image_size) != size:
                    raise ValueError(
                        f'prompts of image {i} are for size {vp.image_size} '
                        f'but the image has size {size}')
                sample.visual_prompts = vp
            return data

        chunks = self._get_chunk_data(map(attach, enumerate(inputs)),
                                      batch_size)
        yield from map(self.collate_fn, chunks)

    @torch.no_grad()
    def forward(self, inputs: dict, task: str = 'panoptic') -> list:
        data = self.model.data_preprocessor(inputs, False)
        samples = data['data_samples']
        for s in samples:
            s.set_metainfo(dict(seem_task=task))
        if task in GENERIC:
            feats = self.model.extract_feat(data['inputs'])
            return self.model.predict_generic(feats, samples, task)
        return self.model.predict(data['inputs'], samples)

    # ------------------------------------------------------------------
    # outputs
    # ------------------------------------------------------------------
    def _class_names(self) -> Optional[List[str]]:
        try:
            things, stuff = self.model.get_vocabulary()
        except ValueError:
            return None
        return list(things) + list(stuff)

    def pred2dict(self, sample) -> Dict:
        """Data sample -> dict of numpy arrays at the original size:
        ``sem_seg`` [H, W] (class index), ``panoptic_seg`` [H, W] (mmdet's
        ``label + instance_id * INSTANCE_OFFSET``, ``num_classes`` = void),
        and for instances ``masks`` [N, H, W] bool, ``labels``, ``scores``,
        ``bboxes`` [N, 4] xyxy, ``label_names``."""
        task = sample.metainfo['seem_task']
        out = dict(task=task)
        if 'pred_sem_seg' in sample:
            out['sem_seg'] = sample.pred_sem_seg.data[0].cpu().numpy()
        if 'pred_panoptic_seg' in sample:
            out['panoptic_seg'] = sample.pred_panoptic_seg.sem_seg[0].cpu(
            ).numpy()
        if 'pred_instances' in sample:
            inst = sample.pred_instances
            labels = inst.labels.cpu().numpy().astype(np.int64)
            names = list(inst.texts) if 'texts' in inst else \
                self._class_names()
            if 'texts' in inst:
                labels = np.arange(len(labels))
            out.update(
                masks=inst.masks.cpu().numpy().astype(bool),
                labels=labels,
                scores=inst.scores.float().cpu().numpy(),
                label_names=[
                    names[i] if names and 0 <= i < len(names) else None
                    for i in labels.tolist()
                ])
            if 'bboxes' in inst:
                out['bboxes'] = inst.bboxes.float().cpu().numpy()
        if task in GENERIC:
            out['class_names'] = self._class_names()
        return out

    def _vis_sample(self, sample):
        """What to draw for the task and the class names/palette for it."""
        from mmdet.structures import DetDataSample
        task = sample.metainfo['seem_task']
        vis = DetDataSample(metainfo=sample.metainfo)
        names = self._class_names() or ['object']
        if task == 'panoptic':
            pan = sample.pred_panoptic_seg.cpu()
            # mmdet's visualizer cannot draw an all-void panoptic map
            if (pan.sem_seg != len(names)).any():
                vis.pred_panoptic_seg = pan
        elif task == 'semantic':
            # mmdet's visualizer reads ``sem_seg``, mmseg's ``data``
            vis.pred_sem_seg = PixelData(
                sem_seg=sample.pred_sem_seg.data.cpu())
        else:
            inst = sample.pred_instances.cpu().clone()
            if 'texts' in inst:
                names = list(inst.texts)
                inst.labels = torch.arange(len(inst))
            inst.labels = inst.labels.clamp(min=0)
            keep = ('masks', 'labels', 'scores', 'bboxes')
            vis.pred_instances = InstanceData(
                **{k: inst.get(k) for k in keep if k in inst})
        # SEEMVisualizer draws the prompts and the sentence on the result
        if 'visual_prompts' in sample:
            vis.visual_prompts = sample.visual_prompts
        if sample.get('text', None) is not None:
            vis.text = sample.text
        meta = getattr(self.model, 'dataset_meta', None) or {}
        palette = meta.get('palette')
        if not palette or len(palette) < len(names):
            palette = _palette(len(names))
        return vis, dict(classes=tuple(names), palette=list(palette))

    def visualize(self, inputs: list, preds: list, out_dir=None,
                  show: bool = False, wait_time: float = 0,
                  return_vis: bool = False):
        self._vis_files = []
        if not out_dir and not show and not return_vis:
            return None
        vis_dir = osp.join(out_dir, 'vis') if out_dir else None
        if vis_dir:
            if osp.exists(vis_dir) and not osp.isdir(vis_dir):
                raise NotADirectoryError(
                    f'{vis_dir!r} exists and is not a folder; choose another '
                    'out_dir')
            os.makedirs(vis_dir, exist_ok=True)
        results = []
        for single, pred in zip(inputs, preds):
            img = load_image(single, self.image_format)
            if isinstance(single, str):
                name = osp.basename(single)
            else:
                name = f'{self.num_visualized_imgs:08d}.png'
            vis, meta = self._vis_sample(pred)
            self.visualizer.dataset_meta = meta
            self.visualizer.add_datasample(
                name, img, vis, show=show, wait_time=wait_time,
                draw_gt=False, pred_score_thr=0.0)
            drawn = self.visualizer.get_image()
            if vis_dir:
                self._vis_files.append(save_new_image(drawn, vis_dir, name))
            results.append(drawn)
            self.num_visualized_imgs += 1
        return results

    def postprocess(self, preds: list, visualization, return_datasample=False,
                    **kwargs) -> Dict:
        predictions = preds if return_datasample else [
            self.pred2dict(p) for p in preds
        ]
        return dict(predictions=predictions, visualization=visualization,
                    vis_files=list(getattr(self, '_vis_files', [])))

