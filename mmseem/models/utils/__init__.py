from .checkpoint_convert import (DERIVED_BUFFERS, CheckpointMismatchError,
                                 build_checkpoint, build_dataset_meta,
                                 convert_state_dict, load_manifest,
                                 select_prefix, shapes_of_model)
from .freeze import freeze_parameters

__all__ = [
    'DERIVED_BUFFERS', 'CheckpointMismatchError', 'build_checkpoint',
    'build_dataset_meta', 'convert_state_dict', 'load_manifest',
    'select_prefix', 'shapes_of_model', 'freeze_parameters'
]
