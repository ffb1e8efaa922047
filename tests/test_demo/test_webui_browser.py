"""End to end: the web demo in headless Chromium (Selenium).

Starts ``demo/webui.py`` with the tiny random-weight model on a free local
port, uploads a real photo (a synthetic scene at the same size where
../shared/data is absent, e.g. in CI, so that CI runs it), clicks a point (a mask appears), types a
sentence (the referring result appears), undoes it, paints a scribble
(round 2 of the same object), uploads a broken file (an error in the page,
the app keeps working) and saves a screenshot to
``$MMSEEM_ARTIFACTS`` (default ``work_dirs/artifacts/``).

Skips with the reason when Chromium, chromedriver, selenium or gradio is
missing (``.ci/run`` installs them).
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
CHROME_FLAGS = ('--headless=new', '--no-sandbox', '--disable-gpu',
                '--disable-quic', '--no-first-run',
                '--disable-background-networking',
                '--disable-component-update', '--disable-sync',
                '--disable-dev-shm-usage', '--window-size=1400,1100')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def browser():
    chromium = shutil.which('chromium') or shutil.which('chromium-browser')
    driver = shutil.which('chromedriver')
    if not chromium or not driver:
        pytest.skip('no headless browser: install Debian\'s chromium and '
                    'chromium-driver (apt-get install chromium '
                    'chromium-driver; .ci/run does)')
    pytest.importorskip('selenium', reason='selenium is not installed '
                        '(pip install -r requirements/optional.txt)')
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    profile = tempfile.mkdtemp(prefix='mmseem_chromium_')
    for flag in CHROME_FLAGS + (f'--user-data-dir={profile}', ):
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=Service(driver), options=opts)
    drv.set_window_size(1400, 1100)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope='module')
def server(tiny_cfg_path, tmp_path_factory):
    pytest.importorskip('gradio', reason='gradio is not installed (pip '
                        'install -c requirements/constraints.txt -r '
                        'requirements/optional.txt)')
    port = _free_port()
    log = tmp_path_factory.mktemp('webui') / 'server.log'
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED='False',
               PYTHONPATH=str(REPO),
               OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'))
    with open(log, 'w') as fh:
        proc = subprocess.Popen(
            [sys.executable, 'demo/webui.py', '--config', tiny_cfg_path,
             '--port', str(port)], cwd=REPO, stdout=fh,
            stderr=subprocess.STDOUT, env=env)
    url = f'http://127.0.0.1:{port}/'
    deadline = time.time() + 300
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f'the web demo exited: {log.read_text()[-3000:]}')
            try:
                urllib.request.urlopen(url, timeout=2).read(100)
                break
            except OSError:
                if time.time() > deadline:
                    pytest.fail('the web demo did not start in 300 s: '
                                f'{log.read_text()[-3000:]}')
                time.sleep(1)
        yield url, log, port
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _status(drv) -> str:
    from selenium.webdriver.common.by import By
    box = drv.find_element(By.CSS_SELECTOR, '#status textarea')
    return box.get_attribute('value') or ''


def _wait(drv, cond, what, timeout=120):
    from selenium.webdriver.support.ui import WebDriverWait
    try:
        return WebDriverWait(drv, timeout, poll_frequency=0.5).until(
            lambda d: cond(d))
    except Exception:
        raise AssertionError(f'timed out waiting for {what}; status: '
                             f'{_status(drv)!r}') from None


def _result_png(drv):
    from PIL import Image
    from selenium.webdriver.common.by import By
    import io
    img = drv.find_element(By.CSS_SELECTOR, '#result img')
    return img, np.asarray(Image.open(io.BytesIO(img.screenshot_as_png))
                           .convert('RGB'))


@pytest.fixture(scope='module')
def upload_photo(tmp_path_factory):
    """The real COCO photo (640 x 480) when ../shared/data is there, else a
    synthetic scene of mmseem's generator written as a 640 x 480 JPEG."""
    real = REPO.parent / 'shared' / 'data' / 'coco_panoptic_sample' / 'sample_data' / \
        'input_images' / '000000439180.jpg'
    if real.is_file():
        return str(real)
    import cv2

    from mmseem.datasets.synthetic import make_scene
    rgb = make_scene(image_size=160, seed=0, index=0, split='val').image
    img = cv2.resize(np.ascontiguousarray(rgb[..., ::-1]), (640, 480),
                     interpolation=cv2.INTER_NEAREST)
    path = tmp_path_factory.mktemp('webui') / 'synthetic_scene.jpg'
    assert cv2.imwrite(str(path), img)
    return str(path)


def test_webui_in_chromium(server, browser, upload_photo, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    url, log, port = server
    drv = browser
    drv.get(url)
    _wait(drv, lambda d: 'RANDOM weights' in d.find_element(
        By.ID, 'model-info').text, 'the model line')
    # listens on the loopback address only
    assert f'127.0.0.1:{port}' in log.read_text()

    # upload a real photo (or the synthetic stand-in)
    drv.find_element(By.CSS_SELECTOR, '#upload input[type=file]').send_keys(
        upload_photo)
    _wait(drv, lambda d: _status(d).startswith('Image 640 x'), 'the upload')
    _wait(drv, lambda d: d.find_elements(By.CSS_SELECTOR, '#result img'),
          'the image')
    img, before = _result_png(drv)

    # click a point: a mask (and the click) appear
    ActionChains(drv).move_to_element_with_offset(img, -40, 20).click() \
        .perform()
    _wait(drv, lambda d: 'round 1' in _status(d), 'the click result')
    status = _status(drv)
    assert 'interactive, round 1: 1 mask(s)' in status
    area = int(status.split('(')[-1].split(' px')[0])
    assert area > 0, status
    time.sleep(1)
    _, after = _result_png(drv)
    assert after.shape == before.shape
    changed = (np.abs(after.astype(int) - before.astype(int)).sum(-1) > 30)
    assert changed.mean() > 0.001  # the drawing changed

    # a sentence: the referring result
    box = drv.find_element(By.CSS_SELECTOR, '#text textarea')
    box.send_keys('the person on the left')
    drv.find_element(By.ID, 'refer').click()
    _wait(drv, lambda d: 'referring' in _status(d), 'the referring result')
    assert 'referring: 1 mask(s): the person on the left' in _status(drv)
    time.sleep(1)
    out_dir = Path(os.environ.get('MMSEEM_ARTIFACTS',
                                  REPO / 'work_dirs' / 'artifacts'))
    out_dir.mkdir(parents=True, exist_ok=True)
    shot = out_dir / 'webui_browser.png'
    drv.save_screenshot(str(shot))
    assert shot.stat().st_size > 10000

    # undo goes back to the click result
    drv.find_element(By.ID, 'undo').click()
    _wait(drv, lambda d: 'round 1' in _status(d), 'undo')

    # a scribble painted in the editor refines the same object (round 2)
    canvas = [c for c in drv.find_elements(By.CSS_SELECTOR,
                                           '#scribble canvas')
              if c.is_displayed()][-1]
    ActionChains(drv).move_to_element_with_offset(canvas, -60, 0) \
        .click_and_hold().move_by_offset(40, 10).move_by_offset(40, 10) \
        .release().perform()
    drv.find_element(By.ID, 'scribble-go').click()
    _wait(drv, lambda d: 'round 2' in _status(d), 'the scribble result')

    # a broken upload: an error in the page, the app keeps working
    fake = tmp_path / 'broken.png'
    fake.write_bytes(b'not an image at all' * 50)
    drv.find_element(By.CSS_SELECTOR, '#upload input[type=file]').send_keys(
        str(fake))
    _wait(drv, lambda d: 'Error' in _status(d), 'the upload error')
    assert 'Cannot read the upload' in _status(drv)
    drv.find_element(By.CSS_SELECTOR, '#upload input[type=file]').send_keys(
        upload_photo)
    _wait(drv, lambda d: _status(d).startswith('Image 640 x'),
          'a new upload after the error')
