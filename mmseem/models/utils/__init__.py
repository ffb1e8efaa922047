from .checkpoint_convert import (DERIVED_BUFFERS, KEY_RENAMES,
                                 CheckpointMismatchError, build_checkpoint,
                                 build_dataset_meta, convert_state_dict,
                                 load_manifest, select_prefix,
                                 shapes_of_model)

__all__ = [
    'DERIVED_BUFFERS', 'KEY_RENAMES', 'CheckpointMismatchError',
    'build_checkpoint', 'build_dataset_meta', 'convert_state_dict',
    'load_manifest', 'select_prefix', 'shapes_of_model'
]
