"""demo/video_demo.py: frame folders and video files in, per-frame mask
PNGs + an overlay video out; bad input gives a clear error, outputs are
never overwritten."""
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

import video_demo


def _run(argv):
    return video_demo.main(argv)


@pytest.fixture(scope='module')
def davis_frames(shared_data, tmp_path_factory):
    src = shared_data / 'davis_car_shadow'
    if not (src / 'JPEGImages').is_dir():
        pytest.skip(f'{src} not found')
    dst = tmp_path_factory.mktemp('davis') / 'frames'
    dst.mkdir()
    for i in range(3):  # a few frames, shrunk to keep the test fast
        img = cv2.imread(str(src / 'JPEGImages' / f'{i:05d}.jpg'))
        cv2.imwrite(str(dst / f'{i:05d}.jpg'), cv2.resize(img, (214, 120)))
    ann = cv2.imread(str(src / 'Annotations' / '00000.png'), 0)
    mask = dst.parent / 'first.png'
    cv2.imwrite(str(mask), cv2.resize(ann, (214, 120),
                                      interpolation=cv2.INTER_NEAREST))
    return dst, mask


@pytest.fixture(scope='module')
def tiny_video(tmp_path_factory):
    path = tmp_path_factory.mktemp('vid') / 'clip.avi'
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10,
                             (96, 64))
    for t in range(4):
        frame = np.full((64, 96, 3), 40, np.uint8)
        cv2.circle(frame, (20 + 10 * t, 32), 10, (0, 200, 255), -1)
        writer.write(frame)
    writer.release()
    return path


def test_davis_folder_with_first_mask(davis_frames, tiny_cfg_path, tmp_path,
                                      capsys):
    frames, mask = davis_frames
    out = tmp_path / 'out'
    assert _run([str(frames), tiny_cfg_path, '--mask', str(mask),
                 '--out-dir', str(out), '--short-side', '64']) == 0
    pngs = sorted((out / 'masks').iterdir())
    assert [p.name for p in pngs] == ['00000.png', '00001.png', '00002.png']
    first = cv2.imread(str(pngs[0]), 0)
    given = cv2.imread(str(mask), 0)
    assert first.shape == (120, 214)
    np.testing.assert_array_equal(first > 0, given > 0)  # frame 0 = given
    assert set(np.unique(cv2.imread(str(pngs[1]), 0))) <= {0, 255}
    cap = cv2.VideoCapture(str(out / 'overlay.mp4'))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 3
    assert (out / 'first_frame.png').is_file()
    assert 'frames per second' in capsys.readouterr().out
    assert not list(out.glob('*.tmp*'))  # no temporary files left
    # a second run into the same folder refuses to overwrite
    before = pngs[1].read_bytes()
    assert _run([str(frames), tiny_cfg_path, '--mask', str(mask),
                 '--out-dir', str(out), '--short-side', '64']) == 2
    assert 'not overwritten' in capsys.readouterr().err
    assert pngs[1].read_bytes() == before


def test_video_file_with_click_and_box(tiny_video, tiny_cfg_path, tmp_path):
    out = tmp_path / 'click'
    assert _run([str(tiny_video), tiny_cfg_path, '--points', '20,32,1',
                 '--out-dir', str(out), '--short-side', '0']) == 0
    assert len(list((out / 'masks').glob('*.png'))) == 4
    out = tmp_path / 'box'
    assert _run([str(tiny_video), tiny_cfg_path, '--box', '5,20,40,44',
                 '--out-dir', str(out), '--max-frames', '2']) == 0
    assert len(list((out / 'masks').glob('*.png'))) == 2


def test_bad_inputs(tiny_video, tiny_cfg_path, tmp_path, capsys):
    broken = tmp_path / 'broken.mp4'
    broken.write_bytes(b'\x00\x01 not a video ' * 100)
    assert _run([str(broken), tiny_cfg_path, '--points', '1,1,1',
                 '--out-dir', str(tmp_path / 'o1')]) == 2
    assert 'cannot decode the video' in capsys.readouterr().err
    assert _run([str(tmp_path / 'missing'), tiny_cfg_path, '--points',
                 '1,1,1', '--out-dir', str(tmp_path / 'o2')]) == 2
    assert 'neither a frame folder' in capsys.readouterr().err
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert _run([str(empty), tiny_cfg_path, '--points', '1,1,1',
                 '--out-dir', str(tmp_path / 'o3')]) == 2
    assert 'holds no frames' in capsys.readouterr().err
    # a click outside the 96 x 64 frame
    assert _run([str(tiny_video), tiny_cfg_path, '--points', '500,20,1',
                 '--out-dir', str(tmp_path / 'o4')]) == 2
    err = capsys.readouterr().err
    assert 'first-frame prompt' in err and 'outside the image' in err
    assert not list((tmp_path / 'o4').rglob('*.mp4'))
    with pytest.raises(SystemExit):  # argparse: a prompt is required
        video_demo.parse_args([str(tiny_video), tiny_cfg_path,
                               '--out-dir', 'x'])


def test_command_line_entry(tiny_video, tiny_cfg_path, tmp_path, repo_root):
    out = tmp_path / 'cli'
    proc = subprocess.run(
        [sys.executable, 'demo/video_demo.py', str(tiny_video), tiny_cfg_path,
         '--points', '20,32,1', '--out-dir', str(out), '--max-frames', '2',
         '--short-side', '0'], cwd=repo_root, capture_output=True, text=True,
        timeout=600, env=dict(os.environ, PYTHONPATH=str(repo_root)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'frames per second' in proc.stdout
    shutil.rmtree(out)
