"""Experiments made of several runs of the tools or of the model: several
seeds of one config (mean ± std), the cost of long class lists."""
from .multi_seed import combine, format_table, run_seeds, write_results
from .vocabulary_cost import format_vocabulary_cost, measure_vocabulary_cost

__all__ = [
    'run_seeds', 'combine', 'format_table', 'write_results',
    'measure_vocabulary_cost', 'format_vocabulary_cost'
]
