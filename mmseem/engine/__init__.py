"""Runner parts that MMEngine lacks for SEEM's benchmarks: the video test
loop and a hook giving the model its vocabulary from the dataset."""
from .dataset_meta_hook import ModelDatasetMetaHook
from .video_test_loop import VideoTestLoop

__all__ = ['ModelDatasetMetaHook', 'VideoTestLoop']
