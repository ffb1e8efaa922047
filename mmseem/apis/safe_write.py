"""Write a picture without ever overwriting a file.

:func:`write_new_file` reserves the name with ``O_CREAT | O_EXCL`` (so two
writers never get the same file and an existing file is never touched),
writes the bytes to a temporary file in the same folder and renames it onto
the reserved name (``os.replace``), so a reader never sees a half-written
file. :func:`save_new_image` picks the first free name of ``name``,
``name_1``, ``name_2``, ...
"""
import os
import os.path as osp
import tempfile

import numpy as np

__all__ = ['encode_image', 'write_new_file', 'save_new_image']

_EXTS = ('.jpg', '.jpeg', '.png', '.bmp')


def encode_image(rgb: np.ndarray, ext: str) -> bytes:
    """RGB uint8 [H, W, 3] -> encoded bytes (``ext`` as ``'.png'``)."""
    import cv2
    ok, data = cv2.imencode(ext, np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise OSError(f'could not encode an image as {ext}')
    return data.tobytes()


def write_new_file(path: str, data: bytes) -> None:
    """Write ``data`` to ``path``, which must not exist
    (``FileExistsError`` otherwise)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        raise FileExistsError(
            f'{path!r} exists; it is not overwritten: choose another name '
            'or remove it') from None
    folder = osp.dirname(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        os.remove(path)
        raise


def save_new_image(rgb: np.ndarray, folder: str, name: str) -> str:
    """Write ``rgb`` to ``folder/name``, or ``name_1``, ``name_2``, ...
    when taken; returns the path written."""
    stem, ext = osp.splitext(name)
    ext = ext if ext.lower() in _EXTS else '.png'
    data = encode_image(rgb, ext)
    for k in range(100000):
        path = osp.join(folder, f'{stem}{ext}' if k == 0 else
                        f'{stem}_{k}{ext}')
        try:
            write_new_file(path, data)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f'no free name for {name!r} in {folder!r}')
