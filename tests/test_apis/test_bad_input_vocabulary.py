"""Vocabulary parsing: one rule (mmseem.utils.vocabulary) for every entry
point; a str is one class, bad names are errors that name the problem."""
import copy

import numpy as np
import pytest

from mmseem.utils.vocabulary import Vocabulary, parse_vocabulary


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize('things, stuff, err, match', [
    (None, None, TypeError, 'is None'),
    (None, (), TypeError, 'is None'),
    ([], (), ValueError, 'Empty vocabulary'),
    (['dog', None], (), TypeError, r'thing_classes\[1\] is NoneType'),
    (['dog', 3], (), TypeError, r'thing_classes\[1\] is int 3'),
    (['dog', '  '], (), ValueError, r'\[1\] is an empty or blank'),
    (['dog', 'cat', 'dog'], (), ValueError, "'dog' twice"),
    (['dog'], [' dog '], ValueError, 'twice'),
    ({'dog', 'cat'}, (), TypeError, 'is a set'),
    (b'dog', (), TypeError, 'is bytes'),
    ([dict(thing_classes=['dog'])], (), TypeError, r'\[0\] is dict'),
    (dict(thing_clases=['dog']), None, KeyError, "'thing_clases'.*valid"),
    (dict(palette=[(0, 0, 0)]), None, KeyError, 'none of the keys'),
    (dict(thing_classes=['dog']), ['sky'], TypeError, 'inside the dict'),
    (['dog'], 5, TypeError, 'stuff_classes must be a class name'),
])
def test_bad_vocabulary(things, stuff, err, match):
    with pytest.raises(err, match=match):
        parse_vocabulary(things, stuff)


def test_bad_vocabulary_through_the_model(tiny_model):
    saved = tiny_model._vocabulary
    try:
        with pytest.raises(TypeError, match='is None'):
            tiny_model.set_vocabulary(None)
        with pytest.raises(ValueError, match='twice'):
            tiny_model.set_vocabulary(['sky'], 'sky')
    finally:
        tiny_model._vocabulary = saved
    assert tiny_model._vocabulary is saved  # unchanged by the failures


# ----------------------------------------------------------------- positive
def test_str_is_one_class():
    v = parse_vocabulary('cat', 'sky')
    assert v == Vocabulary(('cat', ), ('sky', ))
    assert v.names == ['cat', 'sky']
    assert parse_vocabulary(np.array(['a', 'b'])).names == ['a', 'b']
    assert parse_vocabulary(('a', 'b'), ['c']).as_lists() == (['a', 'b'],
                                                             ['c'])
    meta = dict(classes=('a', 'b', 'c'), thing_classes=('a', 'b'),
                stuff_classes=('c', ), palette=[(1, 2, 3)] * 3)
    assert parse_vocabulary(meta).as_lists() == (['a', 'b'], ['c'])
    assert parse_vocabulary(dict(classes=['x'])).as_lists() == (['x'], [])
    assert parse_vocabulary(None, ['sky']).as_lists() == ([], ['sky'])


def test_model_set_vocabulary_str(tiny_model):
    saved = tiny_model._vocabulary
    try:
        tiny_model.set_vocabulary('cat', stuff_classes='sky')
        assert tiny_model.get_vocabulary() == (['cat'], ['sky'])
        tiny_model.set_vocabulary(dict(thing_classes='zebra'))
        assert tiny_model.get_vocabulary() == (['zebra'], [])
    finally:
        tiny_model._vocabulary = saved


def test_test_cfg_vocabulary_str(tiny_cfg):
    from mmseem.registry import MODELS
    cfg = copy.deepcopy(tiny_cfg.model)
    cfg.test_cfg = dict(cfg.get('test_cfg') or {},
                        vocabulary=dict(thing_classes='cat',
                                        stuff_classes='sky'))
    model = MODELS.build(cfg)
    assert model.get_vocabulary() == (['cat'], ['sky'])
    cfg.test_cfg['vocabulary'] = dict(thing_clases=['cat'])
    with pytest.raises(KeyError, match='thing_clases'):
        MODELS.build(cfg)


def test_dataset_meta_is_parsed_too(tiny_cfg):
    from mmseem.registry import MODELS
    model = MODELS.build(copy.deepcopy(tiny_cfg.model))
    model.dataset_meta = dict(classes=['a', 'b'], palette=[(0, 0, 0)] * 2)
    assert model.get_vocabulary() == (['a', 'b'], [])
    model.dataset_meta = dict(classes=['a', 'a'])
    with pytest.raises(ValueError, match='twice'):
        model.get_vocabulary()


def test_loss_class_names_use_the_same_rule():
    from mmseem.models.losses.seem_targets import resolve_class_names
    assert resolve_class_names(dict(thing_classes='dog')) == (['dog'], [])
    with pytest.raises(KeyError, match='stuf_classes'):
        resolve_class_names(dict(thing_classes=['a'], stuf_classes=['b']))
