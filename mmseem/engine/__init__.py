"""Runner parts that MMEngine lacks for SEEM: the video test loop, a hook
giving the model its vocabulary from the dataset, and a checkpoint hook
that writes atomically and resumes from a readable checkpoint."""
from .atomic_checkpoint_hook import AtomicCheckpointHook, AtomicLocalBackend
from .dataset_meta_hook import ModelDatasetMetaHook
from .video_test_loop import VideoTestLoop

__all__ = [
    'AtomicCheckpointHook', 'AtomicLocalBackend', 'ModelDatasetMetaHook',
    'VideoTestLoop'
]
