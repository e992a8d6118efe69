"""Experiments made of several runs of the tools: several seeds of one
config, reported as mean ± std; several configs (an ablation's variants)
over seeds, compared with Welch's intervals of their differences."""
from .ablation import (compare, compare_reports, run_ablation, welch_interval,
                       write_ablation)
from .multi_seed import combine, format_table, run_seeds, write_results

__all__ = [
    'run_seeds', 'combine', 'format_table', 'write_results', 'run_ablation',
    'compare', 'compare_reports', 'welch_interval', 'write_ablation'
]
