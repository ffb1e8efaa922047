"""Derived rows (ratios) and the markdown table."""
from typing import Dict, List

from .common import (COLUMNS, FULL, RATIO, RATIO_TARGET, ROUND, TRAIN_RATIO,
                     VOCAB)


def add_ratios(rows: List[Dict]) -> List[Dict]:
    base = {
        (r['device'], r['size']): r
        for r in rows if r.get('baseline') and r['measurement'] == FULL
    }
    out = []
    for r in rows:
        out.append(r)
        if r.get('baseline') or r['measurement'] != FULL:
            continue
        b = base.get((r['device'], r['size']))
        if b is None:
            continue
        ratio = r['median_ms'] / b['median_ms']
        out.append(
            dict(device=r['device'],
                 size=r['size'],
                 model=r['model'],
                 config=r['config'],
                 measurement=RATIO,
                 value=ratio,
                 unit='x',
                 baseline_model=b['model'],
                 target=f'<= {RATIO_TARGET:g} x',
                 meets_target=ratio <= RATIO_TARGET))
    return out


# Official SEEM v1 code (UX-Decoder, branch v1.0) measured side by side with
# mmseem on this machine kind (2-core CPU, 2 threads, 512 px, same image and
# weights, median of 3; issue 13). Printed as reference rows, never re-run.
OFFICIAL_REFERENCE = (
    ('panoptic call (full forward)', '2.72-3.11 s'),
    ('3 clicks on one image (features once + 3 decoder calls)', '4.1 s'),
    ('grounding (one sentence)', '2.9-3.0 s'),
    ('COCO vocabulary embedding (134 classes x 81 templates)', '467-489 s'),
)
REFERENCE = 'official SEEM v1 (reference, not re-run)'


def reference_rows(configs: List[str], device: str, sizes: List[int],
                   threads: int) -> List[Dict]:
    """The official figures above, for the run they compare with: the
    default SEEM Focal-T config on the CPU at 512 px with 2 threads."""
    from .common import DEFAULT_SEEM_CONFIG
    if DEFAULT_SEEM_CONFIG not in configs or device != 'cpu' or \
            512 not in sizes or threads != 2:
        return []
    return [
        dict(device=device,
             size=512,
             model='official SEEM v1 (Focal-T)',
             config=None,
             measurement=REFERENCE,
             detail=what,
             official_figure=figure) for what, figure in OFFICIAL_REFERENCE
    ]


def _fmt_ms(v: float) -> str:
    return f'{v:.1f} ms'


def format_table(rows: List[Dict]) -> str:
    lines = [
        '| ' + ' | '.join(COLUMNS) + ' |',
        '|' + '|'.join('---' for _ in COLUMNS) + '|'
    ]
    for r in rows:
        if 'official_figure' in r:
            median, low = r['official_figure'], '-'
        elif 'value' in r:
            median = {
                '%': f"{r['value']:.1f} %",
                'fps': f"{r['value']:.3g} fps"
            }.get(r['unit'], f"{r['value']:.2f} {r['unit']}")
            low = '-'
        else:
            median, low = _fmt_ms(r['median_ms']), _fmt_ms(r['min_ms'])
        mem = (f"{r['peak_mem_mib']:.0f}"
               if r.get('peak_mem_mib') is not None else '-')
        target = '-'
        if 'meets_target' in r:
            target = f"{r['target']}: {'yes' if r['meets_target'] else 'NO'}"
        measurement = r['measurement']
        if r['measurement'] == ROUND:
            measurement += f" ({r['prompts']} prompt x {r['clicks']} clicks)"
        elif r['measurement'] == VOCAB:
            measurement += (f" ({r['num_classes']} classes; cached: "
                            f"{r['cached_lookup_ms']:.1f} ms)")
        elif r['measurement'] == RATIO:
            measurement += f" ({r['baseline_model']})"
        elif r['measurement'] == TRAIN_RATIO:
            measurement += f" ({r['detail']}; {r['baseline_model']})"
        elif r.get('detail'):
            measurement += f" ({r['detail']})"
        cells = [
            r['device'],
            str(r['size']), r['model'], measurement, median, low, mem, target
        ]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)
