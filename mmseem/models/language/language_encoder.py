"""SEEM's language encoder: text prompts and open-vocabulary class embeddings.

SEEM-specific, not in mmdet/mmseg. The text transformer encodes CLIP
tokens; the hidden state at the end-of-text (EOT) token, projected by
``lang_proj``, is the sentence/class embedding, and the projected hidden
states of all tokens are the text-prompt tokens that SEEM's decoder
attends to. Class logits are a temperature-scaled cosine similarity
between decoder query embeddings and class embeddings.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor, nn

from mmseem.registry import MODELS, TASK_UTILS
from .embedding_cache import EmbeddingDiskCache, weights_digest
from .prefix_encoding import encode_eot_prefix_shared, group_by_template
from .prompt_templates import (PROMPT_TEMPLATES, prompt_all_templates,
                               prompt_random_template)
from .tokenizer import CLIPTextTokenizer, check_texts


def vl_similarity(image_feat: Tensor, text_feat: Tensor,
                  temperature: Union[Tensor, float] = 0.) -> Tensor:
    """Vision-language logits ``min(exp(t), 100) * image_feat @ text_feat^T``.

    As SEEM's ``vl_similarity`` (used for grounding and spatial/visual
    prompt matching): inputs are used as given (normalise them first for a
    cosine), ``temperature`` is a log-scale (e.g. ``logit_scale``) and its
    exponential is clamped at 100.

    Args:
        image_feat (Tensor): [M, D] visual (query) embeddings.
        text_feat (Tensor): [K, D] text/prompt embeddings.
        temperature (Tensor | float): log of the logit scale.

    Returns:
        Tensor: [M, K] logits.
    """
    temperature = torch.as_tensor(temperature, device=image_feat.device)
    return temperature.exp().clamp(max=100) * (image_feat @ text_feat.t())


def _l2_normalize(x: Tensor) -> Tensor:
    """``x / (||x|| + 1e-7)`` along the last dim, as SEEM normalises."""
    return x / (x.norm(dim=-1, keepdim=True) + 1e-7)


@MODELS.register_module()
class LanguageEncoder(BaseModule):
    """SEEM language encoder (official ``LanguageEncoder``, vlpencoder).

    Parameters (official names, under ``sem_seg_head.predictor.lang_encoder``
    in SEEM checkpoints): ``lang_encoder`` (text transformer), ``lang_proj``
    ([C_text, D] projection) and ``logit_scale`` (scalar log temperature,
    initialised to ``logit_scale_init``, 1 officially).

    Class embeddings (``get_class_embeddings``) follow SEEM:

    - eval (``is_eval``, default ``not self.training``): each class is
      prompted with all 81 templates, every prompt's EOT embedding is
      projected and L2-normalised, the mean over templates is renormalised.
      No gradient. Results are cached per vocabulary (see below).
    - training: one random template per class and call, L2-normalised
      projected EOT embedding, with gradient; never cached.

    Cache: keyed by (class names, ``prompt``, ``add_bgd``, device, dtype),
    reused only while the parameters are unchanged (storage and in-place
    version counter: optimizer steps and ``load_state_dict`` invalidate it)
    in eval mode; ``train()`` clears it; never in the state dict.
    Vocabularies of at least ``disk_cache_min_prompts`` prompts are also
    kept on disk (:class:`EmbeddingDiskCache`, keyed by a hash of the
    weights, the class list and the templates) for other processes.

    With a causal text transformer the template ensemble shares template
    prefixes (:func:`encode_eot_prefix_shared`), equal to the plain
    77-token pass up to float noise.

    Args:
        lang_encoder (dict): Config of the text transformer.
        dim_lang (int): Text transformer width C_text. Defaults to 512.
        dim_proj (int): Joint vision-language dim D. Defaults to 512.
        context_length (int): Token length L. Defaults to 77.
        tokenizer (dict, optional): Config of the tokenizer (a
            ``CLIPTextTokenizer`` by default); built on first use so that a
            model can be built without the vocabulary file.
        prompt_templates (Sequence[str]): Templates with one ``{}``.
        max_batch (int): Texts per forward pass when encoding a vocabulary.
        cache_size (int): Vocabularies kept in the class-embedding cache.
        disk_cache (str | bool): Folder of the on-disk cache; True: the
            default (``$MMSEEM_CACHE_DIR/class_embeddings``, else
            ``~/.cache/mmseem/class_embeddings``); False: none.
        disk_cache_min_prompts (int): Only vocabularies of at least this
            many prompts (classes x templates) go to disk; smaller ones take
            less time to compute than hashing the weights.
        logit_scale_init (float): Initial log temperature. Defaults to 1
            (SEEM's init; its checkpoints bring their own value). mmseem's
            synthetic recipe starts a random-init encoder at 3
            (``configs/_base_/models/seem_small.py``).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 lang_encoder: dict = dict(
                     type='CLIPTextTransformer',
                     context_length=77,
                     vocab_size=49408,
                     width=512,
                     layers=12,
                     heads=8,
                     autoregressive=True),
                 dim_lang: int = 512,
                 dim_proj: int = 512,
                 context_length: int = 77,
                 tokenizer: Optional[dict] = None,
                 prompt_templates: Sequence[str] = PROMPT_TEMPLATES,
                 max_batch: int = 256,
                 cache_size: int = 8,
                 disk_cache: Union[str, bool] = True,
                 disk_cache_min_prompts: int = 2000,
                 logit_scale_init: float = 1.0,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.lang_encoder = MODELS.build(lang_encoder)
        self.lang_proj = nn.Parameter(torch.empty(dim_lang, dim_proj))
        self.logit_scale = nn.Parameter(
            torch.full([], float(logit_scale_init)))
        trunc_normal_(self.lang_proj, std=.02)
        self.context_length = context_length
        self.tokenizer_cfg = tokenizer or dict(
            type=CLIPTextTokenizer, context_length=context_length)
        self._tokenizer = None
        if not prompt_templates or any('{}' not in t
                                       for t in prompt_templates):
            raise ValueError('prompt_templates must be a non-empty list of '
                             "strings each with one '{}' for the class name.")
        self.prompt_templates = tuple(prompt_templates)
        self.max_batch = max_batch
        self.cache_size = cache_size
        # name -> [K, D] class embeddings last computed under that name.
        self.text_embeddings: Dict[str, Tensor] = {}
        self._cache: 'OrderedDict[tuple, Tuple[tuple, Tensor]]' = \
            OrderedDict()
        self.disk_cache = None if disk_cache is False else \
            EmbeddingDiskCache(None if disk_cache is True else disk_cache)
        self.disk_cache_min_prompts = disk_cache_min_prompts
        self._digest: Optional[Tuple[tuple, str]] = None

    # ------------------------------------------------------------------ #
    # tokenisation and text encoding
    # ------------------------------------------------------------------ #
    @property
    def tokenizer(self):
        """The text tokenizer, built lazily from ``tokenizer_cfg``."""
        if self._tokenizer is None:
            self._tokenizer = TASK_UTILS.build(self.tokenizer_cfg)
        return self._tokenizer

    def tokenize(self, texts: Union[str, Sequence[str]]) -> Dict[str, Tensor]:
        """Token ids / attention mask [N, L] on this module's device."""
        tokens = self.tokenizer(texts)
        device = self.lang_proj.device
        return {k: v.to(device) for k, v in tokens.items()}

    def forward_language(self,
                         input_ids: Tensor,
                         attention_mask: Optional[Tensor] = None,
                         norm: bool = True) -> Tensor:
        """Sentence embeddings [N, D]: hidden state at the EOT token (the
        largest token id, first occurrence) @ ``lang_proj``, L2-normalised
        if ``norm``."""
        return self._eot_embed((self.lang_encoder, self.lang_proj),
                               input_ids, attention_mask, norm)

    @staticmethod
    def _eot_embed(modules, input_ids, attention_mask, norm) -> Tensor:
        encoder, proj = modules
        x = encoder(input_ids, attention_mask)
        x = x[torch.arange(x.shape[0], device=x.device),
              input_ids.argmax(dim=-1)] @ proj
        return _l2_normalize(x) if norm else x

    def vocabulary_modules(self) -> Tuple[nn.Module, Tensor]:
        """(text transformer, projection) embedding the class names."""
        return self.lang_encoder, self.lang_proj

    def forward_language_token(self,
                               input_ids: Tensor,
                               attention_mask: Optional[Tensor] = None,
                               norm: bool = False) -> Tuple[Tensor, Tensor]:
        """Projected token embeddings [N, L, D] and sentence (EOT)
        embeddings [N, D]; both L2-normalised if ``norm``."""
        token_x = self.lang_encoder(input_ids, attention_mask)
        class_x = token_x[torch.arange(token_x.shape[0],
                                       device=token_x.device),
                          input_ids.argmax(dim=-1)]
        token_x = token_x @ self.lang_proj
        class_x = class_x @ self.lang_proj
        if norm:
            token_x, class_x = _l2_normalize(token_x), _l2_normalize(class_x)
        return token_x, class_x

    def encode_text(self,
                    texts: Union[str, Sequence[str]],
                    norm: bool = False) -> Dict[str, Union[Tensor, dict]]:
        """Encode text prompts (SEEM ``get_text_token_embeddings``).

        Returns:
            dict: ``token_emb`` [N, L, D] (projected, unnormalised by
            default), ``class_emb`` [N, D] (projected EOT embedding),
            ``tokens`` (dict of ``input_ids``/``attention_mask`` [N, L]) and
            ``attention_mask`` [N, L] (1 for real tokens incl. start/end).
        """
        tokens = self.tokenize(texts)
        token_emb, class_emb = self.forward_language_token(
            tokens['input_ids'], tokens['attention_mask'], norm=norm)
        return dict(
            tokens=tokens,
            token_emb=token_emb,
            class_emb=class_emb,
            attention_mask=tokens['attention_mask'])

    def forward(self, texts, norm: bool = False) -> Dict:
        return self.encode_text(texts, norm=norm)  # an alias

    # ------------------------------------------------------------------ #
    # open-vocabulary class embeddings
    # ------------------------------------------------------------------ #
    def _encode_batched(self, texts: List[str]) -> Tensor:
        """Normalised class-name embeddings [N, D] (the
        :meth:`vocabulary_modules`) in chunks of max_batch.

        With causal attention the EOT state does not depend on the padding
        after it, so each chunk is cut after its longest text (same result
        as the padded length-77 pass, much less compute).
        """
        tokens = self.tokenize(texts)
        modules = self.vocabulary_modules()
        causal = getattr(modules[0], 'autoregressive', False)
        outs = []
        for i in range(0, len(texts), self.max_batch):
            ids = tokens['input_ids'][i:i + self.max_batch]
            mask = tokens['attention_mask'][i:i + self.max_batch]
            if causal:
                length = int(mask.sum(-1).max())
                ids, mask = ids[:, :length], mask[:, :length]
            outs.append(self._eot_embed(modules, ids, mask, True))
        return torch.cat(outs)

    def _weights_version(self) -> tuple:
        return tuple((p.data_ptr(), p._version) for p in self.parameters())

    def train(self, mode: bool = True):
        if mode:
            self.clear_cache()
        return super().train(mode)

    def clear_cache(self) -> None:
        """Drop all cached class embeddings."""
        self._cache.clear()

    def get_class_embeddings(self,
                             class_names: Sequence[str],
                             name: str = 'default',
                             prompt: bool = True,
                             add_bgd: bool = True,
                             is_eval: Optional[bool] = None,
                             generator: Optional[torch.Generator] = None
                             ) -> Tensor:
        """Class embeddings [K, D] (K = len(class_names) + add_bgd), unit
        norm, stored under ``name`` for :meth:`compute_similarity`.

        Args:
            class_names (Sequence[str]): Vocabulary. COCO suffixes
                ``-other``/``-merged``/``-stuff`` are dropped.
            name (str): Slot name (SEEM uses ``'default'`` for class logits
                and ``'grounding'`` for referring text).
            prompt (bool): Encode prompt templates (True) or the bare names.
            add_bgd (bool): Append the class ``'background'`` last (SEEM's
                evaluation vocabularies end with it; it is prompted like
                any class).
            is_eval (bool, optional): Template ensemble without gradient
                (True) or one random template with gradient (False).
                Defaults to ``not self.training``.
            generator (torch.Generator, optional): For the random templates.
        """
        if isinstance(class_names, str):
            raise ValueError('class_names must be a list of class names, '
                             f'got the string {class_names!r}: wrap it in a '
                             'list.')
        if not isinstance(class_names, (list, tuple)) or not class_names:
            raise ValueError(
                'Empty vocabulary: class_names must be a non-empty list of '
                "class names, e.g. ['person', 'dog'] (background is "
                'appended with add_bgd=True).')
        names = check_texts(class_names, what='class name')
        if add_bgd:
            names = names + ['background']
        if is_eval is None:
            is_eval = not self.training

        if not is_eval:
            if prompt:
                texts = [
                    prompt_random_template(n, self.prompt_templates,
                                           generator) for n in names
                ]
            else:
                texts = names
            emb = self._encode_batched(texts)
        else:
            key = (tuple(names), prompt, add_bgd, self.lang_proj.device,
                   self.lang_proj.dtype)
            version = self._weights_version()
            hit = self._cache.get(key)
            if hit is not None and hit[0] == version and not self.training:
                self._cache.move_to_end(key)
                emb = hit[1]
            else:
                emb = self._ensemble_embeddings(names, prompt)
                if not self.training:
                    self._cache[key] = (version, emb)
                    while len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
        self.text_embeddings[name] = emb
        return emb

    def _weights_digest(self) -> str:
        """SHA-256 of the weights, recomputed only when they changed."""
        version = self._weights_version()
        if self._digest is None or self._digest[0] != version:
            self._digest = (version, weights_digest(self))
        return self._digest[1]

    @torch.no_grad()
    def _ensemble_embeddings(self, names: List[str], prompt: bool) -> Tensor:
        """Mean of normalised template embeddings per class, renormalised
        (no epsilon, as SEEM); read from / written to the disk cache for
        large vocabularies."""
        templates = self.prompt_templates if prompt else ('{}', )
        disk, key = self.disk_cache, None
        if disk is not None and \
                len(names) * len(templates) >= self.disk_cache_min_prompts:
            key = disk.key(self._weights_digest(), names, templates, prompt,
                           self.lang_proj.dtype)
            emb = disk.load(key, len(names))
            if emb is not None:
                return emb.to(self.lang_proj.device, self.lang_proj.dtype)
        emb = self._compute_ensemble(names, prompt)
        if key is not None:
            disk.save(key, emb)
        return emb

    def _compute_ensemble(self, names: List[str], prompt: bool) -> Tensor:
        if prompt:
            texts = [
                p for n in names
                for p in prompt_all_templates(n, self.prompt_templates)
            ]
        else:
            texts = list(names)
        num_templates = len(texts) // len(names)
        encoder, proj = self.vocabulary_modules()
        if getattr(encoder, 'autoregressive', False):
            tokens = self.tokenize(texts)
            groups = group_by_template(len(names), num_templates)
            x = encode_eot_prefix_shared(encoder, tokens['input_ids'],
                                         groups)
            emb = _l2_normalize(x @ proj)
        else:
            emb = self._encode_batched(texts)
        emb = emb.view(len(names), num_templates, -1).mean(dim=1)
        return emb / emb.norm(dim=-1, keepdim=True)

    def get_stored_embeddings(self, name: str = 'default') -> Tensor:
        """Class embeddings last computed under ``name``."""
        if name not in self.text_embeddings:
            raise KeyError(
                f'No class embeddings named {name!r}: call '
                f"get_class_embeddings(class_names, name={name!r}) first.")
        return self.text_embeddings[name]

    def compute_similarity(self, v_emb: Tensor,
                           name: str = 'default') -> Tensor:
        """Class logits ``exp(logit_scale) * cos(v_emb, class_emb)``
        (unclamped, as SEEM's class head).

        Args:
            v_emb (Tensor): [B, Q, D] decoder class embeddings.
            name (str): Which stored class embeddings to use.

        Returns:
            Tensor: [B, Q, K] logits.
        """
        t_emb = self.get_stored_embeddings(name)
        v_emb = _l2_normalize(v_emb)
        return self.logit_scale.exp() * (v_emb @ t_emb.t().to(v_emb.dtype))
