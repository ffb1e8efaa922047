from .attention_mask import (QueryLayout, build_self_attn_mask,
                             cross_attn_order, self_attn_order)
from .decoder_layers import (MLP, CrossAttentionLayer, FFNLayer,
                             SelfAttentionLayer)
from .memory_prompts import (assign_memories, memory_cross_attn_mask,
                             prev_mask_to_attn_mask)
from .visual_sampler import (SampledPromptTokens, check_prompt_masks,
                             project_level_features, sample_prompt_points,
                             sample_visual_prompts)

__all__ = [
    'QueryLayout', 'build_self_attn_mask', 'cross_attn_order',
    'self_attn_order', 'MLP', 'CrossAttentionLayer', 'FFNLayer',
    'SelfAttentionLayer', 'assign_memories', 'memory_cross_attn_mask',
    'prev_mask_to_attn_mask', 'SampledPromptTokens', 'check_prompt_masks',
    'project_level_features', 'sample_prompt_points', 'sample_visual_prompts'
]
