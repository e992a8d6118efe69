"""Legends of label overlays: the classes present, by area."""
from typing import Dict, List, Optional, Tuple

import numpy as np

# Legend lines of an overlay at most (the classes with the largest areas;
# one more line sums up the rest).
MAX_LEGEND_LINES = 20


def legend_lines(shares: Dict[str, float]) -> List[str]:
    """``'name: 12.3%'`` for every class of ``{name: share}``, in order."""
    return [f'{name}: {100 * share:.1f}%' for name, share in shares.items()]


def _percent(share: float) -> str:
    return '<0.1%' if 0 < share < 0.0005 else f'{100 * share:.1f}%'


def legend_by_area(
    shares: Dict[str, float],
    colours: np.ndarray,
    max_lines: int = MAX_LEGEND_LINES
) -> List[Tuple[str, Optional[np.ndarray]]]:
    """An overlay's legend from ``{name: share of the pixels}`` (in class
    order) and the classes' colours: ``(text, colour)`` for the classes
    present, the largest area first; past ``max_lines`` one line sums up the
    rest."""
    names = list(shares)
    present = sorted(
        ((share, i) for i, share in enumerate(shares.values()) if share > 0),
        key=lambda item: (-item[0], item[1]))
    shown = present if len(present) <= max_lines else present[:max_lines - 1]
    lines = [(f'{names[i]}: {_percent(share)}', colours[i])
             for share, i in shown]
    rest = present[len(shown):]
    if rest:
        lines.append((f'{len(rest)} more classes: '
                      f'{_percent(sum(s for s, _ in rest))}', None))
    return lines
