"""load_image: every input kind and dtype to uint8 RGB [H, W, 3]."""
import numpy as np
import pytest
from PIL import Image

from mmseem.apis import load_image


def _rgb(h=6, w=5):
    return np.random.RandomState(0).randint(0, 256, (h, w, 3), np.uint8)


def test_rgb_array_passthrough_and_bgr():
    img = _rgb()
    out = load_image(img)
    assert out.dtype == np.uint8 and out.shape == (6, 5, 3)
    np.testing.assert_array_equal(out, img)
    np.testing.assert_array_equal(load_image(img, 'BGR'), img[..., ::-1])
    assert load_image(img, 'bgr').flags['C_CONTIGUOUS']
    with pytest.raises(ValueError, match="'RGB' or 'BGR'"):
        load_image(img, 'HSV')


def test_grayscale_to_three_channels():
    gray = np.arange(30, dtype=np.uint8).reshape(6, 5)
    for x in (gray, gray[..., None], Image.fromarray(gray)):
        out = load_image(x)
        assert out.shape == (6, 5, 3)
        for c in range(3):
            np.testing.assert_array_equal(out[..., c], gray)


def test_rgba_alpha_dropped():
    rgba = np.concatenate([_rgb(), np.full((6, 5, 1), 7, np.uint8)], -1)
    np.testing.assert_array_equal(load_image(rgba), rgba[..., :3])
    np.testing.assert_array_equal(
        load_image(Image.fromarray(rgba, 'RGBA')), rgba[..., :3])


def test_16bit_scaled_by_257(tmp_path):
    vals = np.array([[0, 257, 65535], [128 * 257, 1000, 300]], np.uint16)
    expect = np.round(vals / 257.).astype(np.uint8)
    out = load_image(vals)
    np.testing.assert_array_equal(out[..., 0], expect)
    assert out[0, 2, 0] == 255 and out[0, 1, 1] == 1
    # a 16-bit grayscale PNG file
    path = tmp_path / 'g16.png'
    import cv2
    assert cv2.imwrite(str(path), vals)
    np.testing.assert_array_equal(load_image(path)[..., 1], expect)


def test_float_in_unit_range():
    f = np.array([[0., 0.5, 1.]], np.float32)
    out = load_image(f)
    np.testing.assert_array_equal(out[0, :, 0], [0, 128, 255])
    with pytest.raises(ValueError, match=r'must lie in \[0, 1\]'):
        load_image(f * 255)
    with pytest.raises(ValueError, match='NaN'):
        load_image(np.full((2, 2), np.nan))


def test_bool_and_int_images():
    b = np.array([[True, False]])
    np.testing.assert_array_equal(load_image(b)[0, :, 0], [255, 0])
    np.testing.assert_array_equal(
        load_image(np.array([[3, 200]], np.int64))[0, :, 2], [3, 200])
    with pytest.raises(ValueError, match='rescale it to uint8'):
        load_image(np.array([[-1, 300]], np.int32))


def test_files_rgb_order(tmp_path):
    img = _rgb()
    Image.fromarray(img).save(tmp_path / 'a.png')
    np.testing.assert_array_equal(load_image(tmp_path / 'a.png'), img)
    np.testing.assert_array_equal(load_image(str(tmp_path / 'a.png')), img)
    # palette image
    Image.fromarray(img).convert('P').save(tmp_path / 'p.png')
    assert load_image(tmp_path / 'p.png').shape == (6, 5, 3)


def test_bad_shapes_and_types():
    with pytest.raises(ValueError, match=r'transpose\(1, 2, 0\)'):
        load_image(np.zeros((3, 8, 9), np.uint8))
    with pytest.raises(ValueError, match='shape'):
        load_image(np.zeros((2, 3, 4, 5), np.uint8))
    with pytest.raises(TypeError, match='file path, a numpy array'):
        load_image(123)
    torch = pytest.importorskip('torch')
    with pytest.raises(TypeError, match='permute'):
        load_image(torch.zeros(3, 4, 4))


def test_broken_and_missing_files(tmp_path):
    broken = tmp_path / 'broken.png'
    good = tmp_path / 'good.png'
    Image.fromarray(_rgb(32, 32)).save(good)
    broken.write_bytes(good.read_bytes()[:60])  # truncated PNG
    with pytest.raises(ValueError, match='broken.png') as err:
        load_image(broken)
    assert 're-export' in str(err.value)
    text = tmp_path / 'notes.png'
    text.write_text('not an image')
    with pytest.raises(ValueError, match='notes.png.*not an image'):
        load_image(text)
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        load_image(tmp_path / 'missing.jpg')
    with pytest.raises(IsADirectoryError):
        load_image(tmp_path)


def _exif_jpeg(path, orientation):
    from PIL import Image
    rng = np.random.RandomState(1)
    img = np.zeros((30, 50, 3), np.uint8)
    img[:10, :20] = 255  # top-left corner marks the orientation
    img += rng.randint(0, 20, img.shape).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(img).save(str(path), quality=95, exif=exif)
    return img


@pytest.mark.parametrize('orientation', [1, 3, 6, 8])
def test_exif_orientation_as_mmcv(tmp_path, orientation):
    """The same photo has the same pixels in every API: load_image applies
    the EXIF orientation as mmcv.imread (training, inference_model) does."""
    import mmcv
    from PIL import Image
    path = tmp_path / f'exif{orientation}.jpg'
    _exif_jpeg(path, orientation)
    ours = load_image(str(path))
    ref = mmcv.imread(str(path))[..., ::-1]  # mmcv: BGR, EXIF applied
    assert ours.shape == ref.shape
    assert ours.shape[:2] == ((30, 50) if orientation in (1, 3) else
                              (50, 30))
    assert np.abs(ours.astype(int) - ref.astype(int)).mean() < 2
    with Image.open(path) as pil:  # a PIL image of the file: the same
        np.testing.assert_array_equal(load_image(pil), ours)
    from mmcv.transforms import LoadImageFromFile
    loaded = LoadImageFromFile()(dict(img_path=str(path)))['img']
    assert loaded.shape == ours.shape


def test_exif_predictor_shape_and_clicks(tmp_path, tiny_model):
    import mmcv

    from mmseem.apis import SEEMPredictor
    path = tmp_path / 'exif6.jpg'
    _exif_jpeg(path, 6)
    pred = SEEMPredictor(tiny_model)
    pred.set_image(str(path))
    assert pred.original_size == mmcv.imread(str(path)).shape[:2] == (50, 30)
    out = pred.predict(points=[[[25., 5.]]])  # top-right after rotation
    assert out['masks'].shape == (1, 50, 30)
