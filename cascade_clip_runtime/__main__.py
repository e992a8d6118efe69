"""``python -m cascade_clip_runtime IMAGE_OR_FOLDER --model DIR --classes
"cat,grass,sky" [--templates multi|single] [--unseen NAMES|model]
[--out DIR] [--threads N] [--overwrite] [--skip-bad]``: see
:mod:`.cli`."""
import sys

from .cli import main

sys.exit(main())
