from .zero_shot_encoder_decoder import ZeroShotEncoderDecoder, sliding_windows

__all__ = ['ZeroShotEncoderDecoder', 'sliding_windows']
