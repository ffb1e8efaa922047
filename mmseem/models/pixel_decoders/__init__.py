from .transformer_encoder_fpn import (MSDeformAttnPixelDecoderAdapter,
                                      TransformerEncoderPixelDecoder)

__all__ = ['MSDeformAttnPixelDecoderAdapter', 'TransformerEncoderPixelDecoder']
