"""``LoadImageFromNDArray`` that also loads a file path.

``mmseg.apis.inference_model`` rewrites ``model.cfg.test_pipeline[0]`` to
``LoadImageFromNDArray`` **in place** when it is given an array, and never
back: a later ``inference_model(model, 'img.jpg')`` then fed
``dict(img_path=...)`` to mmseg's ``LoadImageFromNDArray`` and failed with
``KeyError: 'img'``. This subclass, registered under the same name in the
mmseem scope (which every mmseem config uses), takes ``results['img']`` when
it is there and otherwise loads ``results['img_path']`` exactly as
``LoadImageFromFile`` (``mmcv.imfrombytes``, EXIF orientation applied).
"""
from mmseg.datasets.transforms import \
    LoadImageFromNDArray as _MMSegLoadImageFromNDArray

from mmseem.registry import TRANSFORMS

__all__ = ['LoadImageFromNDArray']


@TRANSFORMS.register_module()
class LoadImageFromNDArray(_MMSegLoadImageFromNDArray):
    """mmseg's ``LoadImageFromNDArray``, falling back to the file loader
    when the results carry ``img_path`` but no ``img``."""

    def transform(self, results: dict) -> dict:
        if results.get('img') is None and results.get('img_path'):
            results.pop('img', None)
            # mmseg's class derives from mmcv's LoadImageFromFile
            return super(_MMSegLoadImageFromNDArray, self).transform(results)
        if results.get('img') is None:
            raise KeyError(
                "LoadImageFromNDArray needs results['img'] (an array) or "
                "results['img_path'] (a file); got neither")
        return super().transform(results)
