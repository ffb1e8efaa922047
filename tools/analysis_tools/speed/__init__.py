"""Benchmark SEEM against mmdet's Mask2Former: inference, training
iterations and video propagation.

    python tools/analysis_tools/benchmark_speed.py \
        [--modes infer train video] \
        [--configs SEEM_CONFIG ...] [--m2f-config PATH | --no-m2f] \
        [--sizes 512 1024] [--device cpu cuda] [--threads N] \
        [--warmup 2] [--repeat 5] [--seed 0] [--out results.json] \
        infer: [--prompts 1] [--clicks 3] [--vocab-classes 133] [--profile]
        train: [--batch-size 1] [--rounds random 0 5] [--unfrozen] [--amp]
        video: [--video-dir DIR | synthetic] [--video-scale S]
               [--video-reference first|previous]

A benchmark tool, not a test. Everything runs in one process with random
weights (nothing is downloaded) and reports the **median** (and min) wall
time of ``--repeat`` runs after ``--warmup`` runs.

``--modes infer`` (default). On the same seeded images (square, ``size`` x
``size``, uint8 noise), models in eval mode under ``torch.inference_mode``
(or ``torch.no_grad`` with ``--no-inference-mode``):

* ``full forward (panoptic)``: SEEM ``model.predict`` on a preprocessed
  batch (backbone + pixel decoder + decoder + panoptic / semantic /
  instance post-processing) with the 133 COCO panoptic classes as the
  vocabulary (``--vocab-classes K``: the first K, for quick smoke runs);
* ``features (backbone + pixel decoder + decoder prepare)``: SEEM
  ``model.extract_feat(inputs, prepare=True)``, the part an interactive
  session computes once per image;
* ``interactive round (cached features)``: SEEM
  ``model.predict_prompts(feats, [sample])`` with ``--prompts`` prompts of
  ``--clicks`` clicks each (the first click of a prompt positive, the rest
  alternating negative / positive), features computed once outside the
  timed region: only the prompt path (decoder + mask selection + labels);
* ``interactive share of full``: interactive round / full forward, in %,
  against the target <= 5 %;
* ``vocabulary embedding (one-off)``: the class embeddings of the
  vocabulary (prompt-template ensemble through the text encoder), timed
  once from a cold cache before the warm-up; they are cached per
  vocabulary, so every later forward reuses them;
* ``full forward (panoptic)`` of mmdet's Mask2Former (default: mmdet's
  ``mask2former_r50_8xb2-lsj-50e_coco-panoptic``, built from mmdet's
  installed configs with every ``Pretrained`` ``init_cfg`` disabled) and
  ``ratio SEEM / Mask2Former`` (target <= 1: SEEM no slower).

``--modes train``: one training iteration is mmengine's
``model.train_step(data, optim_wrapper)``: data preprocessor + ``model.loss``
+ backward + optimizer step (each config's ``optim_wrapper``: AdamW, its
lr / paramwise multipliers / gradient clipping; ``--amp`` on CUDA:
``AmpOptimWrapper``). Default models: SEEM Focal-T with the official
training recipe (``configs/seem/seem_focalt_coco.py``: generic + grounding +
spatial losses, ``InteractivePromptSimulator`` with 10 instances and 0-5
no-grad corrective rounds, 12544 points, backbone / pixel decoder /
language encoder frozen as configured) against mmdet's Mask2Former on the
same FocalNet-T backbone
(``configs/baselines/mask2former_focalt_8xb2-lsj-50e_coco-panoptic.py``, all
parameters trained, backbone lr x0.1). Both get the SAME batch of
``--batch-size`` seeded synthetic scenes at each ``--sizes`` (mmseem's
synthetic generator: things + stuff panoptic GT, labels mapped into each
model's classes, plus one referring sentence per image that SEEM's
grounding task uses); the data preprocessors' fixed-size batch padding
(LSJ ``BatchFixedSizePad``) is removed so both see the same input tensor.
The models run **interleaved** (SEEM, Mask2Former, SEEM, ...) so that
machine load hits them alike; iteration ``k`` of every model uses the seeds
``(--seed, k)`` (prompt simulation, point sampling, drop path). SEEM's
random number of corrective rounds (``--rounds``): ``random`` keeps the
recipe's draw (uniform in 0..max_rounds from the loss's seeded RNG; the
rounds drawn for the timed iterations are reported), an integer forces that
many rounds (e.g. ``5``: the worst case); several values give several SEEM
rows sharing one model. With both ``0`` and ``max_rounds``, ``train
iteration, expected over the rounds`` is the mean of their medians: the
recipe's expected cost (rounds uniform, each one more no-grad decoder
pass). ``--unfrozen`` adds a SEEM row with nothing frozen (every parameter
trained, as Mask2Former). Rows: ``train iteration`` per model and ``ratio
SEEM / Mask2Former (train)`` against the target <= 1.3.

``--modes video``: SEEM video object propagation
(:func:`mmseem.apis.propagate_video`, the first frame and its mask as the
reference prompt of every frame) on the DAVIS sequence in ``--video-dir``
(default ``../shared/data/davis_car_shadow``: ``JPEGImages/*.jpg`` +
``Annotations/*.png``; seeded synthetic frames with a moving disc when it is
absent or with ``--video-dir synthetic``), frames resized as the video
config's test pipeline does (``--video-scale`` overrides). Per frame is
timed what ``propagate_video`` does for it (resize, preprocessing,
``predict_refimg``); rows: ``video frame`` (median ms over ``--repeat``
frames after ``--warmup`` frames) and ``video frames per second``.

Peak memory (MiB) over the timed runs: on CUDA ``torch.cuda.
max_memory_allocated`` after ``reset_peak_memory_stats`` (weights and
activations); on CPU the peak resident set size during the timed runs minus
the RSS just before them (activations and workspaces; the weights are
already resident). Train rows: the model's static memory (parameters,
buffers, optimizer state, counted from the tensors) plus the largest peak
of one iteration over the memory before it (RSS on CPU, allocated on
CUDA; activations, gradients, workspaces), so models held side by side do
not count each other. The CPU peak is the kernel's ``VmHWM`` reset through
``/proc/self/clear_refs`` where Linux allows it, else ``psutil`` RSS
sampled every 2 ms, else ``resource.getrusage`` ``ru_maxrss`` (a lower
bound: it cannot be reset). The method used is printed under the table and
stored in the JSON.

Output: a machine line (CPU model, cores, threads, load average, torch
version, devices), a markdown table on stdout, and with ``--out`` a JSON
file with every individual time.

Package layout: ``tools/analysis_tools/benchmark_speed.py`` is the command
line (it puts ``tools/analysis_tools`` on ``sys.path`` and calls
:func:`speed.cli.main`); ``common`` holds the defaults, measurement names,
machine line, memory probes and the timing loop; ``infer``, ``train`` (its
batch in ``train_data``) and ``video`` one mode each; ``report`` the
ratios, reference rows and table; ``cli`` the options and the run.
"""
from . import cli, common, infer, report, train, train_data, video


def _public(module):
    return [
        n for n, v in vars(module).items()
        if not n.startswith('_') and getattr(v, '__module__', module.__name__)
        == module.__name__ and not isinstance(v, type(common))
    ]


__all__ = []
for _m in (common, infer, train_data, train, video, report, cli):
    for _n in _public(_m):
        globals()[_n] = getattr(_m, _n)
        __all__.append(_n)
