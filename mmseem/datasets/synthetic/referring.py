"""Referring expressions of the synthetic set, verified to be unique.

mmseem-specific (the embedded default data, see :mod:`.writer`). Every
sentence names a target by shape plus colour / size, a superlative, a
relation to a landmark or the stuff under it, and is kept only when
:func:`resolve_expression` finds exactly that object.
"""
import json

import numpy as np

from .constants import REFERRING_VOCAB, SYNTHETIC_STUFF_CLASSES

_AREA_RATIO = 1.5  # largest / smallest must beat the runner-up by this
_POS_MARGIN = 0.06  # relations need this gap (fraction of the side)
_REGION_FRAC = 0.8  # "in the sky": >= 80% of the object over the sky


# --------------------------------------------------- referring expressions
def _np_matches(obj, desc):
    return all(obj[k] == v for k, v in desc.items())


def resolve_expression(expr, objects, image_size):
    """Indices of ``objects`` that a structured expression refers to.

    ``expr``: ``dict(desc={'shape':..,'color':..,'size':..}, kind=..)`` with
    kind ``'attr'``, ``'superlative'`` (+ ``sup``), ``'relation'`` (+ ``rel``,
    ``landmark`` desc) or ``'region'`` (+ ``region`` stuff name). ``objects``
    carry ``shape, color, size, area, cx, cy, regions`` (fraction of the
    object over each stuff class). Ambiguous cases (gaps under the margins)
    resolve to *several* indices (objects inside a margin count as maybe),
    and to none when no object clearly fits, so a unique answer is safe.
    """
    cand = [i for i, o in enumerate(objects) if _np_matches(o, expr['desc'])]
    kind = expr['kind']
    if kind == 'attr':
        return cand
    if kind == 'superlative':
        sup = expr['sup']
        if len(cand) < 2:
            return []
        if sup in ('largest', 'smallest'):
            key = [objects[i]['area'] for i in cand]
            order = np.argsort(key)
            if sup == 'largest':
                order = order[::-1]
            first, second = key[order[0]], key[order[1]]
            ratio = max(first, second) / max(min(first, second), 1)
            return [cand[order[0]]] if ratio >= _AREA_RATIO else cand
        axis, sign = {'leftmost': ('cx', 1), 'rightmost': ('cx', -1),
                      'topmost': ('cy', 1), 'bottommost': ('cy', -1)}[sup]
        key = [sign * objects[i][axis] for i in cand]
        order = np.argsort(key)
        gap = key[order[1]] - key[order[0]]
        return [cand[order[0]]] if gap >= _POS_MARGIN * image_size else cand
    if kind == 'relation':
        land = [i for i, o in enumerate(objects)
                if _np_matches(o, expr['landmark'])]
        if len(land) != 1:
            return cand
        lm = objects[land[0]]
        axis, sign = {'left': ('cx', -1), 'right': ('cx', 1),
                      'above': ('cy', -1), 'below': ('cy', 1)}[expr['rel']]
        m = _POS_MARGIN * image_size
        hits, unsure = [], []
        for i in cand:
            if i == land[0]:
                continue
            d = sign * (objects[i][axis] - lm[axis])
            if d >= m:
                hits.append(i)
            elif d > -m:
                unsure.append(i)
        return hits + unsure if hits else []
    if kind == 'region':
        reg = expr['region']
        hits = [i for i in cand
                if objects[i]['regions'].get(reg, 0) >= _REGION_FRAC]
        unsure = [i for i in cand if i not in hits
                  and objects[i]['regions'].get(reg, 0) > 1 - _REGION_FRAC]
        return hits + unsure if hits else []
    raise ValueError(f'unknown expression kind {kind!r}')


def _phrase(rng, desc):
    words = []
    if 'size' in desc:
        syn = REFERRING_VOCAB[desc['size']]
        words.append(syn[int(rng.integers(len(syn)))])
    if 'color' in desc:
        words.append(desc['color'])
    words.append(desc['shape'])
    return ' '.join(words)


def _word(rng, key):
    syn = REFERRING_VOCAB[key]
    return syn[int(rng.integers(len(syn)))]


def sentence(rng, expr):
    """The sentence (words drawn with ``rng``) of a structured expression."""
    if expr['kind'] == 'attr':
        return f"the {_phrase(rng, expr['desc'])}"
    if expr['kind'] == 'superlative':
        return f"the {_word(rng, expr['sup'])} {_phrase(rng, expr['desc'])}"
    if expr['kind'] == 'relation':
        return (f"the {_phrase(rng, expr['desc'])} {_word(rng, expr['rel'])}"
                f" the {_phrase(rng, expr['landmark'])}")
    return f"the {_phrase(rng, expr['desc'])} {_word(rng, expr['region'])}"


def _descs(obj, with_shape_only):
    out = [dict(shape=obj['shape'], color=obj['color']),
           dict(shape=obj['shape'], size=obj['size']),
           dict(shape=obj['shape'], size=obj['size'], color=obj['color'])]
    if with_shape_only:
        out.insert(0, dict(shape=obj['shape']))
    return out


def _candidate_exprs(idx, objects, size):
    """All expressions that resolve to exactly ``[idx]``; a bare shape name
    is never a target phrase, so every sentence needs an attribute, a
    relation or a superlative."""
    target = objects[idx]
    exprs = []
    for d in _descs(target, False):
        exprs.append(dict(kind='attr', desc=d))
    for d in _descs(target, True)[:2]:
        for sup in ('largest', 'smallest', 'leftmost', 'rightmost',
                    'topmost', 'bottommost'):
            exprs.append(dict(kind='superlative', desc=d, sup=sup))
        for reg in SYNTHETIC_STUFF_CLASSES:
            exprs.append(dict(kind='region', desc=d, region=reg))
        for j, lm in enumerate(objects):
            if j == idx:
                continue
            for ld in _descs(lm, True)[:2]:
                for rel in ('left', 'right', 'above', 'below'):
                    exprs.append(dict(kind='relation', desc=d, rel=rel,
                                      landmark=ld))
    good = []
    seen = set()
    for e in exprs:
        if resolve_expression(e, objects, size) != [idx]:
            continue
        # a superlative / relation / region is only used when the target
        # phrase alone is ambiguous (so it is needed to resolve the object)
        if e['kind'] != 'attr' and len(resolve_expression(
                dict(kind='attr', desc=e['desc']), objects, size)) < 2:
            continue
        key = json.dumps(e, sort_keys=True)  # landmarks may repeat
        if key not in seen:
            seen.add(key)
            good.append(e)
    return good


def make_refs(rng, objects, size):
    """``{object index: [structured expressions]}`` with 1-4 each."""
    refs = {}
    for i in range(len(objects)):
        cands = _candidate_exprs(i, objects, size)
        if not cands:
            continue
        by_kind = {}
        for e in cands:
            by_kind.setdefault(e['kind'], []).append(e)
        picked = []
        kinds = sorted(by_kind)
        rng.shuffle(kinds)
        want = int(rng.integers(1, 5))
        while len(picked) < want and any(by_kind.values()):
            for k in kinds:
                if by_kind[k] and len(picked) < want:
                    pool = by_kind[k]
                    picked.append(pool.pop(int(rng.integers(len(pool)))))
        refs[i] = picked
    return refs
