"""Typed contracts of the head: image features and decoder prompts."""
import dataclasses

import pytest
import torch

from mmseem.models.heads import DecoderPrompts, ImageFeatures


def _feats(bs=2):
    return ImageFeatures(torch.zeros(bs, 4, 8, 8),
                         [torch.zeros(bs, 4, s, s) for s in (2, 4, 8)],
                         (32, 32))


def test_image_features_are_read_only_and_sliceable():
    f = _feats()
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.prepared = 'anything'
    assert f['input_shape'] == (32, 32)  # former dict keys still read
    assert 'prepared' not in f and f.get('prepared') is None
    one = f.select(1)
    assert one.batch_size == 1 and one.multi_scale_features[0].shape[0] == 1
    assert f.batch_size == 2  # the original is untouched


def test_image_features_of_dict_checks_keys():
    f = _feats(1)
    g = ImageFeatures.of(dict(mask_features=f.mask_features,
                              multi_scale_features=f.multi_scale_features,
                              input_shape=[32, 32]))
    assert g.input_shape == (32, 32) and ImageFeatures.of(g) is g
    with pytest.raises(ValueError, match='mask_features'):
        ImageFeatures.of(dict(mask_feature=f.mask_features))
    with pytest.raises(TypeError, match='ImageFeatures'):
        ImageFeatures.of([f.mask_features])


def test_with_prepared_returns_a_copy():
    f = _feats(1)
    g = f.with_prepared('prepared-view')
    assert g.prepared == 'prepared-view' and f.prepared is None


def test_decoder_prompts_from_official_dict():
    pos = [torch.zeros(1, 32, 32, dtype=torch.bool)]
    p = DecoderPrompts.from_dict(
        dict(spatial_query_pos_mask=pos, grounding_nonzero_mask=None,
             vocabulary=None, spatial_only=True))
    assert p.spatial_pos_masks is pos and p.vocabulary is None
    assert p.has_spatial and not p.has_grounding and p.spatial_only
    assert DecoderPrompts.from_dict(None) == DecoderPrompts()
    assert DecoderPrompts.from_dict(p) is p
    with pytest.raises(KeyError, match='unknown decoder prompt'):
        DecoderPrompts.from_dict(dict(spatial_query_pos_masks=pos))
    with pytest.raises(TypeError):
        DecoderPrompts.from_dict([pos])


def test_spatial_only_is_checked():
    with pytest.raises(ValueError, match='needs visual prompts'):
        DecoderPrompts(spatial_only=True).check_spatial_only(False, False)
    with pytest.raises(ValueError, match='without the grounding'):
        DecoderPrompts(spatial_only=True).check_spatial_only(True, True)
    assert DecoderPrompts(spatial_only=True).check_spatial_only(True, False)
