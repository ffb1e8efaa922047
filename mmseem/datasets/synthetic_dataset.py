"""mmdet dataset classes over mmseem's synthetic COCO-format set.

Nothing is re-implemented: these are mmdet's ``CocoPanopticDataset`` and
``CocoDataset`` with the synthetic class list as ``METAINFO`` and a data-root
check whose error prints the command that generates the data. A malformed
annotation json is reported with its file, entry and field
(:func:`mmseem.utils.coco_schema.coco_schema_error`) instead of mmdet's bare
``KeyError``.
"""
import os.path as osp

from mmdet.datasets import CocoDataset, CocoPanopticDataset

from mmseem.registry import DATASETS
from mmseem.utils.coco_schema import coco_schema_error
from .synthetic import (GENERATE_COMMAND, GENERATOR_VERSION,
                        SYNTHETIC_METAINFO, generator_version)

#: what mmdet's loaders raise on a json that lacks a field
SCHEMA_ERRORS = (KeyError, TypeError, IndexError, AttributeError)


def _require(ann_file: str, data_root: str) -> None:
    if ann_file and not osp.isfile(ann_file):
        raise FileNotFoundError(
            f'Annotation file {ann_file} not found (data_root='
            f'{data_root!r}). Generate the synthetic set with:\n    '
            f'{GENERATE_COMMAND} --out {data_root or "data/synthetic"}')
    version = generator_version(data_root) if data_root else None
    if version is not None and version != GENERATOR_VERSION:
        raise FileNotFoundError(
            f'the synthetic set under {data_root!r} is stale (generator '
            f'version {version}; this code writes version '
            f'{GENERATOR_VERSION}). Regenerate it with:\n    '
            f'{GENERATE_COMMAND} --out {data_root}')


@DATASETS.register_module()
class SyntheticPanopticDataset(CocoPanopticDataset):
    """COCO panoptic loading (mmdet) of the synthetic things + stuff set."""

    METAINFO = dict(SYNTHETIC_METAINFO)

    def load_data_list(self):
        _require(self.ann_file, self.data_root)
        try:
            return super().load_data_list()
        except SCHEMA_ERRORS as e:
            raise coco_schema_error(self.ann_file, 'panoptic', e) from e


@DATASETS.register_module()
class SyntheticInstanceDataset(CocoDataset):
    """COCO instances loading (mmdet) of the synthetic set (things only)."""

    METAINFO = dict(
        classes=SYNTHETIC_METAINFO['thing_classes'],
        palette=SYNTHETIC_METAINFO['palette'][:len(
            SYNTHETIC_METAINFO['thing_classes'])])

    def load_data_list(self):
        _require(self.ann_file, self.data_root)
        try:
            return super().load_data_list()
        except SCHEMA_ERRORS as e:
            raise coco_schema_error(self.ann_file, 'instances', e) from e
