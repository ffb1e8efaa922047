from .davis import DAVISDataset
from .interactive_seg import (BerkeleyDataset, COCOMValDataset,
                              DAVIS345Dataset, GrabCutDataset,
                              InteractiveSegDataset, SBDInteractiveDataset,
                              VOCInteractiveDataset)
from .refcoco_panoptic import RefCocoPanopticDataset
from .synthetic import (SYNTHETIC_CLASSES, SYNTHETIC_METAINFO,
                        SYNTHETIC_PALETTE, SYNTHETIC_STUFF_CLASSES,
                        SYNTHETIC_THING_CLASSES, check_data_root,
                        generate_synthetic_coco, validate_coco_json)
from .synthetic_dataset import (SyntheticInstanceDataset,
                                SyntheticPanopticDataset)
from .transforms import *  # noqa: F401,F403

__all__ = [
    'DAVISDataset', 'InteractiveSegDataset', 'GrabCutDataset',
    'BerkeleyDataset', 'DAVIS345Dataset', 'COCOMValDataset',
    'SBDInteractiveDataset', 'VOCInteractiveDataset', 'RefCocoPanopticDataset',
    'SyntheticInstanceDataset', 'SyntheticPanopticDataset',
    'SYNTHETIC_CLASSES', 'SYNTHETIC_METAINFO', 'SYNTHETIC_PALETTE',
    'SYNTHETIC_STUFF_CLASSES', 'SYNTHETIC_THING_CLASSES', 'check_data_root',
    'generate_synthetic_coco', 'validate_coco_json'
]
