"""Experiments made of several runs of the tools: several seeds of one
config, reported as mean ± std."""
from .multi_seed import combine, format_table, run_seeds, write_results

__all__ = ['run_seeds', 'combine', 'format_table', 'write_results']
