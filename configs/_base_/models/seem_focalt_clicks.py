# SEEM Focal-T v1 playing the click benchmarks (the
# seem_focalt-v1_*-clicks.py configs): the interactive_eval task with the
# standard (RITM / SimpleClick) click protocol and max_clicks matching
# configs/_base_/datasets/interactive_clicks.py's InteractiveMetric.
_base_ = ['./seem_focalt.py']
model = dict(
    test_cfg=dict(
        task='interactive_eval',
        interactive_protocol='standard',
        max_clicks=20,
        # exclude data_sample.ignored_instances (the ignore region) from
        # the IoU and the click error regions
        ignore_regions='ignored_instances'))
