"""Smoke tests of tools/analysis_tools/benchmark_speed.py on tiny models.

They check the structure of the printed table and of the JSON results
(rows, columns, derived share / ratio), never the timings.
"""
import importlib.util
import json
import os.path as osp

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_speed.py')
TINY_SEEM = osp.join(ROOT, 'configs', 'seem',
                     'seem_tiny_synthetic-panoptic.py')
TINY_M2F = osp.join(ROOT, 'configs', 'baselines',
                    'mask2former_r18_8xb2-3k_synthetic.py')


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('benchmark_speed', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def keep_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def table_rows(text):
    """Markdown table lines of the printed output -> list of cell lists."""
    lines = [ln for ln in text.splitlines() if ln.startswith('|')]
    return [[c.strip() for c in ln.strip('|').split('|')] for ln in lines]


def test_smoke_table_and_json(bench, tmp_path, capsys, keep_threads):
    out = tmp_path / 'results.json'
    result = bench.main([
        '--configs', TINY_SEEM, '--m2f-config', TINY_M2F, '--sizes', '64',
        '--device', 'cpu', '--warmup', '1', '--repeat', '1', '--threads', '1',
        '--vocab-classes', '6', '--clicks', '2', '--out',
        str(out)
    ])
    printed = capsys.readouterr().out
    assert 'torch ' + torch.__version__ in printed
    assert 'cores:' in printed and 'CPU:' in printed

    rows = table_rows(printed)
    header, sep, body = rows[0], rows[1], rows[2:]
    assert header == list(bench.COLUMNS)
    assert all(set(c) == {'-'} for c in sep)
    assert all(len(r) == len(header) for r in body)
    seem, m2f = 'seem_tiny_synthetic-panoptic', \
        'mask2former_r18_8xb2-3k_synthetic'
    got = {(r[0], r[1], r[2], r[3].split(' (')[0]) for r in body}
    want = {('cpu', '64', seem, m)
            for m in ('full forward', 'features', 'interactive round',
                      'interactive share of full', 'vocabulary embedding',
                      'ratio SEEM / Mask2Former')}
    want.add(('cpu', '64', m2f, 'full forward'))
    assert got == want
    for r in body:
        if r[3].startswith(
            ('full forward', 'features', 'interactive round', 'vocabulary')):
            assert r[4].endswith(' ms') and float(r[4][:-3]) > 0
    share = next(r for r in body if r[3].startswith('interactive share'))
    assert share[4].endswith(' %') and share[7].startswith('<= 5 %: ')
    ratio = next(r for r in body if r[3].startswith('ratio'))
    assert ratio[4].endswith(' x') and m2f in ratio[3]
    assert '1 prompt x 2 clicks' in printed
    assert 'peak mem on cpu' in printed

    # the JSON holds the same rows with every time, and consistent derived
    # values
    with open(out) as f:
        saved = json.load(f)
    assert saved['columns'] == list(bench.COLUMNS)
    assert saved['table'] == result['table']
    assert saved['settings']['threads'] == 1
    assert saved['machine']['cores'] >= 1
    res = {(r['model'], r['measurement']): r for r in saved['results']}
    assert len(res) == len(saved['results']) == 7
    full = res[(seem, bench.FULL)]
    rnd = res[(seem, bench.ROUND)]
    base = res[(m2f, bench.FULL)]
    for r in (full, rnd, base, res[(seem, bench.FEATS)]):
        assert len(r['times_ms']) == 1
        assert r['median_ms'] == r['min_ms'] == r['times_ms'][0] > 0
        assert r['peak_mem_mib'] >= 0
    assert res[(seem, bench.SHARE)]['value'] == pytest.approx(
        100 * rnd['median_ms'] / full['median_ms'])
    assert res[(seem, bench.RATIO)]['value'] == pytest.approx(
        full['median_ms'] / base['median_ms'])
    assert base['baseline'] is True
    assert res[(seem, bench.VOCAB)]['num_classes'] == 6
    # the vocabulary is cached: the second lookup skips the text encoder
    vocab = res[(seem, bench.VOCAB)]
    assert vocab['cached_lookup_ms'] < vocab['median_ms']


def test_no_m2f_has_no_ratio(bench, capsys, keep_threads):
    result = bench.main([
        '--configs', TINY_SEEM, '--no-m2f', '--sizes', '64', '--device', 'cpu',
        '--warmup', '0', '--repeat', '2', '--threads', '1', '--vocab-classes',
        '2'
    ])
    names = [r['measurement'] for r in result['results']]
    assert bench.RATIO not in names and names.count(bench.FULL) == 1
    assert result['settings']['m2f_config'] is None
    full = next(r for r in result['results'] if r['measurement'] == bench.FULL)
    assert len(full['times_ms']) == 2
    assert full['median_ms'] == pytest.approx(sum(full['times_ms']) /
                                              2)  # median of two values
    capsys.readouterr()


@pytest.mark.parametrize('argv', [
    ['--repeat', '0'],
    ['--sizes', '16'],
    ['--configs', 'no/such/config.py'],
    ['--device', 'tpu'],
    ['--vocab-classes', '0'],
])
def test_bad_arguments(bench, argv, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(argv + ['--no-m2f'])
    assert 'error' in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only check')
def test_cuda_unavailable_is_a_clear_error(bench, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(['--device', 'cuda', '--no-m2f'])
    assert 'CUDA is not available' in capsys.readouterr().err


def test_disable_pretrained_on_mmdet_config(bench):
    from mmengine.config import Config
    cfg = Config.fromfile(bench.default_m2f_config()).model
    assert cfg.backbone.init_cfg['type'] == 'Pretrained'
    model_cfg = bench.disable_pretrained(cfg)
    assert model_cfg.backbone.init_cfg is None
    nested = bench.disable_pretrained(
        dict(a=[
            dict(init_cfg=[
                dict(type='Pretrained', checkpoint='x'),
                dict(type='Normal')
            ])
        ],
             pretrained='y'))
    assert nested == dict(a=[dict(init_cfg=[dict(type='Normal')])],
                          pretrained=None)


def test_cpu_peak_memory_sees_an_allocation(bench):
    import mmap
    mem = bench.CpuPeakMemory()
    mem.start()
    # 64 MiB of fresh anonymous pages, written so they are resident (a
    # tensor can reuse pages the allocator kept resident after earlier
    # tests, which made this test fail inside the full suite only)
    buf = mmap.mmap(-1, 64 * 2**20)
    buf.write(b'\x01' * (64 * 2**20))
    peak = mem.stop()
    buf.close()
    assert 48 <= peak < 1024, mem.method


# ---------------------------------------------------------------------------
# --modes train / video
# ---------------------------------------------------------------------------
TINY_SEEM_TRAIN = osp.join(ROOT, 'configs', 'seem',
                           'seem_tiny_8xb2-1k_synthetic.py')
M2F_FOCALT = osp.join(ROOT, 'configs', 'baselines',
                      'mask2former_focalt_8xb2-lsj-50e_coco-panoptic.py')
DAVIS = osp.join(osp.dirname(ROOT), 'shared', 'data', 'davis_car_shadow')


def test_train_mode_interleaved_rows_and_ratio(bench, tmp_path, capsys,
                                               keep_threads):
    out = tmp_path / 'train.json'
    result = bench.main([
        '--modes', 'train', '--configs', TINY_SEEM_TRAIN, '--m2f-config',
        TINY_M2F, '--sizes', '64', '--device', 'cpu', '--batch-size', '2',
        '--rounds', 'random', '1', '--warmup', '0', '--repeat', '2',
        '--threads', '1', '--out',
        str(out)
    ])
    printed = capsys.readouterr().out
    seem, m2f = 'seem_tiny_8xb2-1k_synthetic', \
        'mask2former_r18_8xb2-3k_synthetic'
    rows = result['results']
    assert {r['mode'] for r in rows} == {'train'}
    trains = [r for r in rows if r['measurement'] == bench.TRAIN]
    ratios = [r for r in rows if r['measurement'] == bench.TRAIN_RATIO]
    assert [(r['model'], r.get('rounds')) for r in trains] == [
        (seem, 'random'), (seem, 1), (m2f, None)]
    assert len(ratios) == 2
    base = trains[-1]
    assert base['baseline'] is True and base['batch_size'] == 2
    for r in trains:
        assert len(r['times_ms']) == len(r['losses']) == 2
        assert r['median_ms'] == pytest.approx(sum(r['times_ms']) / 2)
        assert all(t > 0 for t in r['times_ms'])
        assert all(abs(x) < 1e6 for x in r['losses'])  # finite losses
        assert r['static_mib'] > 0 and r['iteration_peak_mib'] >= 0
        assert r['peak_mem_mib'] == pytest.approx(r['static_mib'] +
                                                  r['iteration_peak_mib'])
        assert 0 < r['trainable_params'] <= r['params']
    # recipe draw: uniform in 0..max_rounds, reported; fixed: forced
    drawn = trains[0]['rounds_used']
    assert len(drawn) == 2 and trains[0]['max_rounds'] == 2
    assert all(0 <= x <= 2 for x in drawn)
    assert trains[1]['rounds_used'] == [1, 1]
    for ratio, seem_row in zip(ratios, trains[:2]):
        assert ratio['value'] == pytest.approx(seem_row['median_ms'] /
                                               base['median_ms'])
        assert ratio['target'] == '<= 1.3 x'
        assert ratio['meets_target'] == (ratio['value'] <= 1.3)
        assert ratio['baseline_model'] == m2f
    body = [r for r in table_rows(printed)[2:]]
    assert len(body) == 5
    assert sum(r[3].startswith('train iteration (batch 2, rounds drawn ')
               for r in body) == 1
    assert sum(r[3].startswith('train iteration (batch 2, 1 round)')
               for r in body) == 1
    assert sum(r[7].startswith('<= 1.3 x: ') for r in body) == 2
    saved = json.loads(out.read_text())
    assert saved['settings']['modes'] == ['train']
    assert saved['settings']['rounds'] == ['random', 1]
    assert saved['settings']['batch_size'] == 2
    assert len(saved['results']) == 5


def test_expected_row_from_zero_and_max_rounds(bench):
    """With 0 and max_rounds forced, the recipe's expectation (rounds
    uniform in 0..max) is their mean; nothing without both."""
    def row(rounds, median, unfrozen=False):
        peak = median / 10
        return dict(config='c', unfrozen=unfrozen, rounds=rounds,
                    max_rounds=5, median_ms=median, min_ms=median - 1,
                    iteration_peak_mib=peak, peak_mem_mib=10 + peak,
                    measurement=bench.TRAIN)

    rows = [row('random', 50.0), row(0, 40.0), row(5, 90.0),
            row(0, 45.0, True)]
    exp = bench.expected_rows(rows, 1)
    assert len(exp) == 1 and exp[0]['measurement'] == bench.TRAIN_EXPECTED
    assert exp[0]['median_ms'] == 65.0 and exp[0]['min_ms'] == 64.0
    assert exp[0]['peak_mem_mib'] == 19 and not exp[0]['unfrozen']
    assert 'mean of 0 and 5 rounds' in exp[0]['detail']
    assert bench.expected_rows(rows[:2], 1) == []


def test_train_batch_is_the_same_scene_for_both_models(bench):
    scene = bench.synthetic_scene(64, 0, 0)
    assert scene['img'].shape == (64, 64, 3) and scene['text']
    again = bench.synthetic_scene(64, 0, 0)
    assert (again['img'] == scene['img']).all() and \
        again['text'] == scene['text']
    img_a, seem = bench.pack_train_sample(scene, 80, 53, True)
    img_b, m2f = bench.pack_train_sample(scene, 5, 3, False)
    assert torch.equal(img_a, img_b) and img_a.dtype == torch.uint8
    n = len(scene['things'])
    assert len(seem.gt_instances) == len(m2f.gt_instances) == n
    assert (seem.gt_instances.masks.masks ==
            m2f.gt_instances.masks.masks).all()
    assert seem.gt_texts == [scene['text']]
    assert 0 <= int(seem.gt_text_inds[0]) < n
    assert 'gt_texts' not in m2f
    # stuff pixels carry stuff labels in each model's label space
    sem = seem.gt_sem_seg.sem_seg
    stuff = set(sem.unique().tolist()) - set(
        seem.gt_instances.labels.tolist()) - {255}
    assert stuff and all(80 <= s < 133 for s in stuff)
    stuff_m2f = set(m2f.gt_sem_seg.sem_seg.unique().tolist()) - set(
        m2f.gt_instances.labels.tolist()) - {255}
    assert all(5 <= s < 8 for s in stuff_m2f)


def test_m2f_focalt_config_same_backbone_as_seem(bench, keep_threads):
    """The same-backbone baseline: mmdet's Mask2Former recipe with
    mmseem's FocalNet-T (tuple outputs), 133 classes, its optimizer."""
    torch.set_num_threads(1)
    from mmengine.config import Config
    cfg = Config.fromfile(M2F_FOCALT)
    assert cfg.model.backbone.type == 'mmseem.models.backbones.FocalNet'
    assert cfg.model.data_preprocessor.batch_augments  # LSJ pad kept
    args = bench.parse_args(['--modes', 'train', '--no-m2f'])
    model, ow = bench.build_trainable(M2F_FOCALT, 'cpu', 'm2f', args)
    assert type(model.backbone).__name__ == 'FocalNet'
    assert model.data_preprocessor.batch_augments is None  # stripped
    assert bench.num_classes_of(model, 'm2f') == (80, 53)
    assert model.panoptic_head.num_queries == 100
    assert ow.optimizer.defaults['lr'] == pytest.approx(1e-4)
    assert ow.clip_grad_kwargs['max_norm'] == pytest.approx(0.01)
    with torch.no_grad():
        feats = model.backbone(torch.zeros(1, 3, 64, 64))
    assert isinstance(feats, tuple)
    assert [f.shape[1] for f in feats] == [96, 192, 384, 768]
    assert [f.shape[-1] for f in feats] == [16, 8, 4, 2]


def test_focalnet_tuple_output_matches_dict():
    """FocalNet(out_type='tuple'), used by the Mask2Former baseline, gives
    the dict's maps in order; a bad out_type is a clear error."""
    from mmseem.models.backbones import FocalNet
    torch.manual_seed(0)
    net = FocalNet(arch='test', out_type='dict').eval()
    tup = FocalNet(arch='test', out_type='tuple').eval()
    tup.load_state_dict(net.state_dict())
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        d, t = net(x), tup(x)
    assert list(d) == ['res2', 'res3', 'res4', 'res5'] and len(t) == 4
    assert all(torch.equal(a, b) for a, b in zip(d.values(), t))
    with pytest.raises(ValueError, match='out_type'):
        FocalNet(arch='test', out_type='list')


@pytest.mark.skipif(not osp.isdir(DAVIS),
                    reason=f'DAVIS sample not found at {DAVIS}')
def test_video_mode_on_davis(bench, tmp_path, capsys, keep_threads):
    out = tmp_path / 'video.json'
    result = bench.main([
        '--modes', 'video', '--configs', TINY_SEEM, '--device', 'cpu',
        '--warmup', '1', '--repeat', '2', '--threads', '1', '--video-scale',
        '0.1', '--out',
        str(out)
    ])
    printed = capsys.readouterr().out
    rows = result['results']
    assert [r['measurement'] for r in rows] == [bench.VIDEO, bench.FPS]
    frame, fps = rows
    assert frame['size'] == '85x48' and frame['source'].startswith('DAVIS')
    assert len(frame['times_ms']) == 2 and frame['peak_mem_mib'] >= 0
    assert frame['median_ms'] == pytest.approx(sum(frame['times_ms']) / 2)
    assert fps['value'] == pytest.approx(1e3 / frame['median_ms'])
    assert len(frame['foreground_px']) == 4  # reference + 1 + 2 frames
    body = table_rows(printed)[2:]
    assert body[1][4].endswith(' fps') and body[0][4].endswith(' ms')
    assert json.loads(out.read_text())['settings']['modes'] == ['video']


def test_video_mode_synthetic_frames(bench, capsys, keep_threads):
    result = bench.main([
        '--modes', 'video', '--configs', TINY_SEEM, '--device', 'cpu',
        '--warmup', '0', '--repeat', '1', '--threads', '1', '--video-dir',
        'synthetic', '--video-scale', '0.1'
    ])
    capsys.readouterr()
    frame = result['results'][0]
    assert frame['source'].startswith('synthetic')
    assert len(frame['times_ms']) == 1
    frames, first = bench.synthetic_video(3, 0)
    assert len(frames) == 3 and first.shape == (1, 480, 854) and first.any()
    assert not (frames[0] == frames[2]).all()  # the disc moves


def test_video_scale_from_davis_config(bench):
    cfg = osp.join(ROOT, 'configs', 'seem', 'seem_focalt-v1_davis.py')
    # DAVIS 854x480 -> long side 1333 (short side 800 would exceed it)
    assert bench.video_scale_from_config(cfg, 480, 854) == pytest.approx(
        1333 / 854, abs=1e-3)


@pytest.mark.parametrize('argv', [
    ['--modes', 'bogus'],
    ['--modes', 'train', '--batch-size', '0'],
    ['--modes', 'train', '--rounds', 'often'],
    ['--modes', 'train', '--rounds', '-1'],
    ['--modes', 'train', '--rounds', '2', '2'],
    ['--modes', 'train', '--amp', '--device', 'cpu'],
    ['--modes', 'video', '--video-scale', '0'],
])
def test_bad_train_video_arguments(bench, argv, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(argv)
    assert 'error' in capsys.readouterr().err


# ---------------------------------------------------------------------------
# package layout, interleaved timing, official reference rows
# ---------------------------------------------------------------------------
def test_cli_reexports_the_speed_package(bench):
    import speed
    for name in ('main', 'parse_args', 'bench_seem', 'bench_train',
                 'bench_video', 'format_table', 'measure_interleaved',
                 'reference_rows', 'synthetic_scene'):
        assert getattr(bench, name) is getattr(speed, name)


def test_measure_interleaved_alternates_the_calls(bench):
    calls = []

    class NoMem:
        def start(self):
            pass

        def stop(self):
            return 1.5

    res = bench.measure_interleaved(
        [lambda: calls.append('a'), lambda: calls.append('b')], 'cpu', 1, 3,
        NoMem(), ['a', 'b'])
    assert calls == ['a', 'b'] * 4  # 1 warm-up + 3 timed rounds, in turn
    assert len(res) == 2
    for r in res:
        assert len(r['times_ms']) == 3 and r['peak_mem_mib'] == 1.5
        assert r['min_ms'] <= r['median_ms']


def test_official_reference_rows(bench):
    rows = bench.reference_rows([bench.DEFAULT_SEEM_CONFIG], 'cpu',
                                [512, 1024], 2)
    assert [r['official_figure'] for r in rows] == [
        f for _, f in bench.OFFICIAL_REFERENCE]
    assert all(r['size'] == 512 and 'not re-run' in r['measurement']
               for r in rows)
    table = bench.format_table(rows)
    assert '467-489 s' in table and '2.72-3.11 s' in table
    # only where they compare: default config, CPU, 512 px, 2 threads
    assert bench.reference_rows([bench.DEFAULT_SEEM_CONFIG], 'cpu', [512],
                                1) == []
    assert bench.reference_rows([TINY_SEEM], 'cpu', [512], 2) == []
    assert bench.reference_rows([bench.DEFAULT_SEEM_CONFIG], 'cpu', [1024],
                                2) == []


@pytest.mark.parametrize('indexed', [True, False])
def test_timed_frames_iterated_or_indexed(bench, indexed):
    """Frame t is timed from its hand-out to the next request, whether the
    consumer (propagate_video) indexes or iterates; memory starts at
    mem_from."""
    events = []

    class Mem:
        def start(self):
            events.append('start')

    timed = bench.TimedFrames(['f0', 'f1', 'f2'], 'cpu', Mem(), 1)
    got = [timed[i] for i in range(len(timed))] if indexed else list(timed)
    timed.finish()
    assert got == ['f0', 'f1', 'f2'] and len(timed.times_ms) == 3
    assert events == ['start'] and all(t >= 0 for t in timed.times_ms)
    timed.finish()  # idempotent
    assert len(timed.times_ms) == 3
