"""Click-benchmark datasets (GrabCut, Berkeley, DAVIS345, COCO_MVal, SBD,
VOC) on tiny fixtures in their exact RITM / SimpleClick layouts, the ignore
region through mmdet's pipeline into SEEM's click session, and one mmengine
Runner test loop of the tiny SEEM on a 2-image GrabCut fixture."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from mmseem.datasets.interactive_seg import (
    BerkeleyDataset, COCOMValDataset, DAVIS345Dataset, GrabCutDataset,
    InteractiveSegDataset, SBDInteractiveDataset, VOCInteractiveDataset,
    read_interactive_mask)
from mmseem.registry import DATASETS

H, W = 24, 32
SETS = {
    # config name -> dataset class (fixture builders: MAKERS)
    'grabcut': GrabCutDataset,
    'berkeley': BerkeleyDataset,
    'davis345': DAVIS345Dataset,
    'coco-mval': COCOMValDataset,
    'sbd': SBDInteractiveDataset,
    'voc': VOCInteractiveDataset,
}


def _img(path, h=H, w=W, seed=0):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (h, w, 3), np.uint8)).save(path)


def _band_mask(y0, y1, x0, x1):
    """255 object box with a 2-pixel 128 band around it, 0 elsewhere."""
    m = np.zeros((H, W), np.uint8)
    m[y0 - 2:y1 + 2, x0 - 2:x1 + 2] = 128
    m[y0:y1, x0:x1] = 255
    return m


def _folder_pair(root, img_dir, seg_dir, items):
    """items: name -> (image ext, mask ext, mask array)."""
    os.makedirs(osp.join(root, img_dir))
    os.makedirs(osp.join(root, seg_dir))
    for i, (name, (iext, mext, mask)) in enumerate(items.items()):
        _img(osp.join(root, img_dir, name + iext), seed=i)
        Image.fromarray(mask).save(osp.join(root, seg_dir, name + mext))
    return str(root)


def make_grabcut(root):
    return _folder_pair(
        root, 'data_GT', 'boundary_GT', {
            'book': ('.jpg', '.bmp', _band_mask(5, 15, 6, 20)),
            'banana1': ('.bmp', '.bmp', _band_mask(8, 20, 10, 28)),
        })


def make_berkeley(root):
    return _folder_pair(root, 'images', 'masks', {
        '12003': ('.jpg', '.png', _band_mask(4, 12, 4, 12)),
    })


def _binary(y0, y1, x0, x1):
    m = np.zeros((H, W), np.uint8)
    m[y0:y1, x0:x1] = 255
    return m


def make_davis345(root):
    rgb = np.zeros((H, W, 3), np.uint8)  # a colour-saved mask
    rgb[10:20, 3:9, 0] = 200
    return _folder_pair(root, 'img', 'gt', {
        'bear': ('.jpg', '.png', _binary(2, 8, 2, 30)),
        'blackswan': ('.jpg', '.png', rgb),
    })


def make_coco_mval(root):
    return _folder_pair(root, 'img', 'gt', {
        '000000000139': ('.jpg', '.png', _binary(1, 5, 1, 5)),
    })


def make_sbd(root):
    from scipy.io import savemat
    os.makedirs(osp.join(root, 'img'))
    os.makedirs(osp.join(root, 'inst'))
    seg_a = np.zeros((H, W), np.uint8)
    seg_a[1:5, 1:5] = 1
    seg_a[10:14, 1:5] = 3  # ids need not be contiguous
    seg_a[10:20, 20:30] = 2
    seg_b = np.zeros((H, W), np.uint8)
    seg_b[5:9, 5:9] = 1
    for i, (name, seg) in enumerate((('2008_000002', seg_a),
                                     ('2008_000003', seg_b))):
        _img(osp.join(root, 'img', name + '.jpg'), seed=i)
        n = int(seg.max())
        savemat(
            osp.join(root, 'inst', name + '.mat'), {
                'GTinst': {
                    'Segmentation': seg,
                    'Boundaries': np.zeros((n, 1), object),
                    'Categories': np.arange(1, n + 1)[:, None]
                }
            })
    with open(osp.join(root, 'val.txt'), 'w') as f:
        f.write('2008_000002\n2008_000003\n')
    return str(root)


def voc_palette():
    """Pascal VOC colour map (bit-interleaved), 256 x RGB."""
    pal = np.zeros((256, 3), np.uint8)
    for i in range(256):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal[i] = (r, g, b)
    return pal


def make_voc(root):
    for d in ('JPEGImages', 'SegmentationObject', 'ImageSets/Segmentation'):
        os.makedirs(osp.join(root, d))
    idx = np.zeros((H, W), np.uint8)
    idx[2:8, 2:10] = 1
    idx[12:20, 2:10] = 2
    idx[12:20, 16:30] = 4
    idx[1, :] = 255  # void border lines
    idx[11, :] = 255
    png = Image.fromarray(idx, mode='P')
    png.putpalette(voc_palette().ravel().tolist())
    png.save(osp.join(root, 'SegmentationObject', '2007_000033.png'))
    _img(osp.join(root, 'JPEGImages', '2007_000033.jpg'))
    with open(osp.join(root, 'ImageSets/Segmentation/val.txt'), 'w') as f:
        f.write('2007_000033\n')
    return str(root)


MAKERS = {
    'grabcut': make_grabcut,
    'berkeley': make_berkeley,
    'davis345': make_davis345,
    'coco-mval': make_coco_mval,
    'sbd': make_sbd,
    'voc': make_voc,
}


def _objects(ds, idx):
    """(object masks [N, H, W], ignore mask [H, W] or None) of one item."""
    from pycocotools import mask as mask_util
    info = ds.get_data_info(idx)
    objs = [mask_util.decode(i['mask']).astype(bool)
            for i in info['instances'] if not i['ignore_flag']]
    ign = [mask_util.decode(i['mask']).astype(bool)
           for i in info['instances'] if i['ignore_flag']]
    assert len(ign) <= 1
    return np.stack(objs) if objs else np.zeros((0, H, W), bool), \
        (ign[0] if ign else None)


# ---------------------------------------------------------------------------
# layouts, object counts, mask values, ignore handling
# ---------------------------------------------------------------------------
def test_grabcut_band_is_ignored(tmp_path):
    ds = DATASETS.build(
        dict(type='GrabCutDataset', data_root=make_grabcut(tmp_path)))
    assert isinstance(ds, GrabCutDataset)
    assert len(ds) == 2 and ds.num_objects == 2
    # RITM order: images sorted by file name
    assert [ds.get_data_info(i)['img_id'] for i in range(2)] == [
        'banana1', 'book']
    info = ds.get_data_info(1)
    assert info['img_path'].endswith(osp.join('data_GT', 'book.jpg'))
    assert info['seg_map_path'].endswith(osp.join('boundary_GT', 'book.bmp'))
    assert (info['height'], info['width']) == (H, W)
    obj, ign = _objects(ds, 1)
    expected = _band_mask(5, 15, 6, 20)
    np.testing.assert_array_equal(obj[0], expected == 255)
    np.testing.assert_array_equal(ign, expected == 128)
    inst = info['instances'][0]
    assert inst['bbox'] == [6., 5., 20., 15.] and inst['bbox_label'] == 0
    assert info['instances'][1]['ignore_flag'] == 1


def test_berkeley_layout(tmp_path):
    ds = BerkeleyDataset(data_root=make_berkeley(tmp_path))
    obj, ign = _objects(ds, 0)
    assert obj.shape == (1, H, W) and obj.sum() == 64
    assert ign.sum() == 12 * 12 - 64


def test_davis345_and_coco_mval_binary(tmp_path):
    ds = DAVIS345Dataset(data_root=make_davis345(tmp_path / 'd'))
    assert len(ds) == 2 and ds.num_objects == 2
    obj, ign = _objects(ds, 1)  # colour-saved mask: any channel > 0
    assert ign is None and obj.sum() == 60 and obj[0, 10:20, 3:9].all()
    assert all(i['ignore_flag'] == 0 for i in ds.get_data_info(0)
               ['instances'])
    ds = COCOMValDataset(data_root=make_coco_mval(tmp_path / 'c'))
    assert len(ds) == 1 and _objects(ds, 0)[0].sum() == 16


def test_sbd_every_instance_is_a_target(tmp_path):
    pytest.importorskip('scipy.io', reason='SBD .mat files need scipy')
    ds = SBDInteractiveDataset(data_root=make_sbd(tmp_path))
    assert len(ds) == 2 and ds.num_objects == 4
    info = ds.get_data_info(0)
    assert info['img_id'] == '2008_000002'
    assert [i['instance_id'] for i in info['instances']] == [1, 2, 3]
    obj, ign = _objects(ds, 0)
    assert ign is None
    assert [int(m.sum()) for m in obj] == [16, 100, 16]
    assert obj[2, 10:14, 1:5].all()
    # RITM's reading: loadmat(...)['GTinst'][0][0][0]
    from scipy.io import loadmat
    ref = loadmat(osp.join(tmp_path, 'inst', '2008_000002.mat'))
    ref = ref['GTinst'][0][0][0]
    for k, m in zip([1, 2, 3], obj):
        np.testing.assert_array_equal(m, ref == k)


def test_voc_objects_in_gray_order_and_void_ignored(tmp_path):
    ds = VOCInteractiveDataset(data_root=make_voc(tmp_path))
    assert len(ds) == 1 and ds.num_objects == 3
    info = ds.get_data_info(0)
    # ids are the gray values of the palette colours (cv2 BGR2GRAY), in
    # ascending order as RITM / SimpleClick / SEEM: index 4 (0,0,128) -> 15,
    # index 1 (128,0,0) -> 38, index 2 (0,128,0) -> 75
    ids = [i['instance_id'] for i in info['instances'] if not i['ignore_flag']]
    assert ids == [15, 38, 75]
    obj, ign = _objects(ds, 0)
    assert obj[0, 12:20, 16:30].all() and obj[0].sum() == 8 * 14
    assert obj[1, 2:8, 2:10].all() and obj[1].sum() == 6 * 8
    # the void border (palette 255 = gray 220) is the ignore region
    assert ign[1].all() and ign[11].all() and ign.sum() == 2 * W
    assert not (obj & ign).any()


def _png_bytes(arr):
    import io
    b = io.BytesIO()
    Image.fromarray(arr).save(b, format='PNG')
    return b.getvalue()


def test_voc_index_map_without_palette(tmp_path):
    """A SegmentationObject saved as a plain index map: 255 is void."""
    idx = np.zeros((4, 5), np.uint8)
    idx[0, 0], idx[1, 1], idx[3, :] = 1, 2, 255
    buf = _png_bytes(idx)
    id_map, ids, ignore = read_interactive_mask(buf, 'voc_png')
    assert ids == [1, 2] and ignore.sum() == 5 and id_map[1, 1] == 2


def test_empty_mask_keeps_image_without_targets(tmp_path):
    root = _folder_pair(tmp_path, 'img', 'gt', {
        'a': ('.jpg', '.png', np.zeros((H, W), np.uint8))})
    ds = DAVIS345Dataset(data_root=root)
    assert len(ds) == 1 and ds.num_objects == 0


def test_masks_read_as_the_reference_code_reads_them(tmp_path):
    """RITM / SimpleClick / SEEM read with cv2: GrabCut ``imread[..., 0]``,
    DAVIS ``max(imread, axis=2) > 0``, VOC ``BGR2GRAY`` gray ids."""
    import cv2
    cases = [
        (make_grabcut(tmp_path / 'g'), 'boundary_GT', 'band128'),
        (make_davis345(tmp_path / 'd'), 'gt', 'binary'),
        (make_voc(tmp_path / 'v'), 'SegmentationObject', 'voc_png'),
    ]
    for root, seg_dir, fmt in cases:
        for name in sorted(os.listdir(osp.join(root, seg_dir))):
            path = osp.join(root, seg_dir, name)
            with open(path, 'rb') as f:
                id_map, ids, ignore = read_interactive_mask(f.read(), fmt)
            bgr = cv2.imread(path)
            if fmt == 'band128':
                ref = bgr[:, :, 0].astype(np.int32)
                np.testing.assert_array_equal(id_map == 1, ref > 128)
                np.testing.assert_array_equal(ignore, ref == 128)
            elif fmt == 'binary':
                np.testing.assert_array_equal(id_map == 1,
                                              bgr.max(axis=2) > 0)
            else:
                ref = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
                np.testing.assert_array_equal(id_map, ref)
                assert ids == [x for x in np.unique(ref) if x not in (0, 220)]
                np.testing.assert_array_equal(ignore, ref == 220)


def test_real_davis_frames_in_davis345_layout(tmp_path, shared_data):
    """Two real DAVIS frames (854x480 JPEG, 0/255 PNG) laid out as the
    345-frame set, through mmdet's loading pipeline."""
    import shutil
    src = shared_data / 'davis_car_shadow'
    for d in ('img', 'gt'):
        os.makedirs(tmp_path / d)
    for name in ('00000', '00020'):
        shutil.copy(src / 'JPEGImages' / f'{name}.jpg', tmp_path / 'img')
        shutil.copy(src / 'Annotations' / f'{name}.png', tmp_path / 'gt')
    from mmseem.utils import register_all_modules
    register_all_modules()
    ds = DAVIS345Dataset(
        data_root=str(tmp_path),
        pipeline=[
            dict(type='mmdet.LoadImageFromFile'),
            dict(type='mmdet.LoadAnnotations', with_bbox=True,
                 with_mask=True),
            dict(type='mmdet.PackDetInputs')
        ])
    assert len(ds) == 2 and ds.num_objects == 2
    sample = ds[1]['data_samples']
    ref = np.array(Image.open(src / 'Annotations' / '00020.png')) > 0
    gt = sample.gt_instances.masks.to_ndarray()
    assert gt.shape == (1, 480, 854) and ref.sum() > 1000
    np.testing.assert_array_equal(gt[0], ref)
    x1, y1, x2, y2 = sample.gt_instances.bboxes.tensor[0].tolist()
    ys, xs = np.nonzero(ref)
    assert (x1, y1, x2, y2) == (xs.min(), ys.min(), xs.max() + 1,
                                ys.max() + 1)


# ---------------------------------------------------------------------------
# errors name the problem and the expected layout
# ---------------------------------------------------------------------------
def test_missing_root_names_layout(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r'(?s)data_GT.*Expected layout.*boundary_GT'):
        GrabCutDataset(data_root=str(tmp_path / 'GrabCut'))


def test_missing_split_file(tmp_path):
    root = make_voc(tmp_path)
    os.remove(osp.join(root, 'ImageSets/Segmentation/val.txt'))
    with pytest.raises(FileNotFoundError,
                       match=r'(?s)split file.*val\.txt.*VOCdevkit/VOC2012'):
        VOCInteractiveDataset(data_root=root)


def test_split_lists_missing_files(tmp_path):
    root = make_voc(tmp_path)
    with open(osp.join(root, 'ImageSets/Segmentation/val.txt'), 'a') as f:
        f.write('2007_999999\n')
    with pytest.raises(FileNotFoundError,
                       match=r'2 file\(s\).*missing.*2007_999999\.jpg'):
        VOCInteractiveDataset(data_root=root)


def test_unpaired_images_and_masks(tmp_path):
    root = make_grabcut(tmp_path)
    os.remove(osp.join(root, 'boundary_GT', 'book.bmp'))
    with pytest.raises(FileNotFoundError,
                       match=r"1 image\(s\).*have no mask.*book"):
        GrabCutDataset(data_root=root)
    os.remove(osp.join(root, 'data_GT', 'book.jpg'))
    Image.fromarray(_band_mask(5, 9, 5, 9)).save(
        osp.join(root, 'boundary_GT', 'extra.bmp'))
    with pytest.raises(FileNotFoundError,
                       match=r'(?s)have no image.*extra.*allow_unpaired'):
        GrabCutDataset(data_root=root)
    ds = GrabCutDataset(data_root=root, allow_unpaired_masks=True)
    assert len(ds) == 1


def test_image_mask_size_mismatch(tmp_path):
    root = make_berkeley(tmp_path)
    _img(osp.join(root, 'images', '12003.jpg'), h=H + 1)
    with pytest.raises(ValueError, match=r'is 25x32 but its mask .* 24x32'):
        BerkeleyDataset(data_root=root)
    assert len(BerkeleyDataset(data_root=root, check_image_size=False)) == 1


def test_bad_mask_format_and_bad_mat(tmp_path):
    with pytest.raises(ValueError, match='mask_format must be one of'):
        InteractiveSegDataset(data_root=str(tmp_path), mask_format='rle')
    pytest.importorskip('scipy.io', reason='SBD .mat files need scipy')
    from scipy.io import savemat
    root = make_sbd(tmp_path)
    savemat(osp.join(root, 'inst', '2008_000003.mat'), {'GTcls': 1})
    with pytest.raises(ValueError, match=r'2008_000003\.mat.*GTinst'):
        SBDInteractiveDataset(data_root=root)


# ---------------------------------------------------------------------------
# configs point at the documented layouts
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('name', sorted(SETS))
def test_config_builds_on_layout(name, tmp_path, repo_root):
    if name == 'sbd':
        pytest.importorskip('scipy.io', reason='SBD .mat files need scipy')
    from mmengine.config import Config

    from mmseem.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(
        str(repo_root / f'configs/seem/seem_focalt-v1_{name}-clicks.py'))
    assert cfg.model.test_cfg.task == 'interactive_eval'
    assert cfg.model.test_cfg.interactive_protocol == 'standard'
    assert cfg.model.test_cfg.ignore_regions == 'ignored_instances'
    assert cfg.test_evaluator.protocol == 'standard'
    assert cfg.test_evaluator.max_clicks == 20
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.data_root = MAKERS[name](tmp_path) + '/'
    ds = DATASETS.build(ds_cfg)
    assert isinstance(ds, SETS[name]) and ds.num_objects >= 1
    sample = ds[0]['data_samples']
    assert len(sample.gt_instances.masks) >= 1
    assert sample.gt_instances.masks.height == sample.ori_shape[0]


# ---------------------------------------------------------------------------
# the ignore region reaches SEEM's click session
# ---------------------------------------------------------------------------
def _packed_grabcut_sample(root, idx=1):
    pipeline = [
        dict(type='mmdet.LoadImageFromFile'),
        dict(type='mmdet.Resize', scale=(64, 48), keep_ratio=True),
        dict(type='mmdet.LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='mmdet.PackDetInputs',
             meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                        'scale_factor')),
    ]
    from mmseem.utils import register_all_modules
    register_all_modules()
    ds = GrabCutDataset(data_root=root, pipeline=pipeline, test_mode=True)
    return ds[idx]


def test_pipeline_packs_ignore_region_as_ignored_instances(tmp_path):
    from mmseem.evaluation.interactive_session import ignored_region
    out = _packed_grabcut_sample(make_grabcut(tmp_path))
    sample = out['data_samples']
    expected = _band_mask(5, 15, 6, 20)
    assert tuple(out['inputs'].shape[-2:]) == sample.img_shape != (H, W)
    gt = sample.gt_instances.masks.to_ndarray()
    assert gt.shape == (1, H, W)
    np.testing.assert_array_equal(gt[0], expected == 255)
    np.testing.assert_array_equal(ignored_region(sample), expected == 128)
    assert len(sample.ignored_instances.masks) == 1


class _OverSegmenter:
    """``predict_prompts`` answering every prompt with GT object + band,
    i.e. right up to the ignored pixels."""

    def __init__(self, answer, test_cfg):
        self.answer = torch.from_numpy(answer)
        self.test_cfg = test_cfg

    def predict_prompts(self, feats, samples):
        from mmengine.structures import InstanceData
        res = InstanceData()
        res.masks = self.answer[None].repeat(len(samples[0].visual_prompts),
                                             1, 1)
        samples[0].pred_instances = res
        return samples


@pytest.mark.parametrize('protocol', ['standard', 'seem'])
def test_seem_excludes_ignored_instances_from_iou(tmp_path, protocol):
    """Bug fix: SEEM's interactive_eval never passed an ignore region; with
    test_cfg.ignore_regions='ignored_instances' the GrabCut band is left out
    of the IoU, so object + band scores 1.0 (without it: < 1)."""
    from mmseem.models.segmentors.seem import SEEM
    sample = _packed_grabcut_sample(make_grabcut(tmp_path))['data_samples']
    expected = _band_mask(5, 15, 6, 20)
    feats = dict(mask_features=torch.zeros(1, 2, 4, 4),
                 multi_scale_features=[torch.zeros(1, 2, 2, 2)],
                 input_shape=sample.img_shape)
    ious = {}
    for ignore in (None, 'ignored_instances'):
        fake = _OverSegmenter(
            expected > 0,
            dict(interactive_protocol=protocol, max_clicks=2,
                 ignore_regions=ignore))
        out = SEEM._predict_interactive_eval(fake, feats, [sample.clone()])
        ious[ignore] = out[0].interactive_ious
    np.testing.assert_allclose(ious['ignored_instances'], 1.0)
    band, obj = (expected == 128).sum(), (expected == 255).sum()
    np.testing.assert_allclose(ious[None], obj / (obj + band), rtol=1e-6)
    with pytest.raises(ValueError, match="'ignored_instances'"):
        fake.test_cfg['ignore_regions'] = 'crowd'
        SEEM._predict_interactive_eval(fake, feats, [sample.clone()])


# ---------------------------------------------------------------------------
# end to end: mmengine Runner test loop, tiny random-weight SEEM
# ---------------------------------------------------------------------------
def test_runner_test_loop_on_grabcut(tmp_path, repo_root):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmseem.utils import register_all_modules
    register_all_modules()
    torch.manual_seed(0)
    cfg = Config.fromfile(
        str(repo_root / 'configs/seem/seem_focalt-v1_grabcut-clicks.py'))
    tiny = Config.fromfile(
        str(repo_root / 'configs/seem/seem_tiny_synthetic-interactive.py'))
    test_cfg = dict(cfg.model.test_cfg, max_clicks=2)
    cfg.model = tiny.model
    cfg.model.test_cfg = test_cfg
    cfg.test_evaluator.max_clicks = 2
    loader = cfg.test_dataloader
    loader.num_workers = 0
    loader.dataset.data_root = make_grabcut(tmp_path / 'GrabCut') + '/'
    loader.dataset.pipeline[1].scale = (64, 48)  # CPU-sized input
    cfg.work_dir = str(tmp_path / 'work')
    cfg.log_level = 'WARNING'
    metrics = Runner.from_cfg(cfg).test()
    expected = {f'interactive/{k}' for k in (
        'NoC@85', 'NoC@90', 'NoC@95', 'NoF@85', 'NoF@90', 'mIoU@1',
        'mIoU@2', 'num_objects')}
    assert set(metrics) == expected
    assert metrics['interactive/num_objects'] == 2
    for k in ('NoC@85', 'NoC@90', 'NoC@95'):
        assert 1 <= metrics[f'interactive/{k}'] <= 2
    assert 0 <= metrics['interactive/NoF@85'] <= 2
    assert 0 <= metrics['interactive/mIoU@1'] <= 100
