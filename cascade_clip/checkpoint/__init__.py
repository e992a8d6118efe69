from .checkpoint_file import (NotACheckpointError, check_checkpoint_file,
                              resume_checkpoint)
from .clip_architecture import (ImageTowerShape, TextTowerShape, check_fits,
                                supported_tower, text_encoder_config)
from .clip_weights import (DEFAULT_CLIP_PATH, OPENAI_VIT_ARCHIVES,
                           VIT_B_16_URL, CLIPWeightsError, clip_tower_weights,
                           read_clip_weights)
from .official import (convert_official_checkpoint,
                       convert_official_state_dict, is_official_state_dict,
                       model_config_from_official)
from .safe_globals import checkpoint_globals, load_weights_only
from .stored_config import config_from_checkpoint, run_from_checkpoint

__all__ = [
    'NotACheckpointError', 'check_checkpoint_file', 'resume_checkpoint',
    'DEFAULT_CLIP_PATH', 'OPENAI_VIT_ARCHIVES', 'VIT_B_16_URL',
    'CLIPWeightsError', 'clip_tower_weights', 'read_clip_weights',
    'ImageTowerShape', 'TextTowerShape', 'check_fits', 'supported_tower',
    'text_encoder_config', 'checkpoint_globals', 'load_weights_only',
    'config_from_checkpoint', 'run_from_checkpoint',
    'convert_official_checkpoint', 'convert_official_state_dict',
    'is_official_state_dict', 'model_config_from_official'
]
