"""Which blocks of a CLIP ViT feed the cascade (docs/method.md §8).

The paper's layout is for ViT-B/16's 12 blocks: the maps of blocks 5-7 and
8-10 are fused by NGA (two stages), the last block's map is the third, and
every block after the first gets its own prompts. A rule maps that layout to
another depth; the decode head's ``stages`` (indices into the encoder's
maps) stay ``((0, 1, 2), (3, 4, 5), (6,))`` at every depth.
"""
import math
from typing import Sequence, Tuple

# The paper's ViT-B/16 layout.
PAPER_LAYERS = 12
PAPER_OUT_INDICES = (5, 6, 7, 8, 9, 10)

STAGE_RULES = ('proportional', 'last')


def cascade_out_indices(layers: int,
                        rule: str = 'proportional',
                        paper_indices: Sequence[int] = PAPER_OUT_INDICES,
                        paper_layers: int = PAPER_LAYERS) -> Tuple[int, ...]:
    """The blocks whose maps the cascade fuses, for a ViT of ``layers``
    blocks.

    Args:
        layers: Blocks of the image transformer (24 for ViT-L/14).
        rule: ``'proportional'`` (default): each of the paper's blocks keeps
            its relative depth, block ``b`` of ``paper_layers`` becoming
            ``(b + 1) * layers / paper_layers`` rounded half up, minus 1
            (24 blocks: 11, 13, 15, 17, 19, 21). ``'last'``: each keeps its
            distance to the last block (24 blocks: 17-22). Both give the
            paper's blocks at 12.
        paper_indices: The layout to map.
        paper_layers: The depth it was made for.

    Raises:
        ValueError: An unknown rule, or a depth at which the rule gives
            blocks outside the transformer or the same block twice.
    """
    if rule == 'proportional':
        indices = tuple(
            math.floor((b + 1) * layers / paper_layers + 0.5) - 1
            for b in paper_indices)
    elif rule == 'last':
        indices = tuple(b + layers - paper_layers for b in paper_indices)
    else:
        raise ValueError(f'the stage rule must be one of {STAGE_RULES}, not '
                         f'{rule!r}')
    if len(set(indices)) != len(indices) or not all(0 <= i < layers - 1
                                                    for i in indices):
        raise ValueError(
            f'the stage rule {rule!r} gives blocks {list(indices)} for a '
            f'{layers}-block transformer (distinct blocks before the last '
            'are needed): give the blocks as a list in out_indices')
    return indices


def cascade_prompt_depth(layers: int) -> int:
    """Blocks that get their own deep prompts: all after the first, as in
    the paper (11 of ViT-B/16's 12)."""
    return layers - 1
