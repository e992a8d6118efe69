"""Experiments made of several runs of a config: several seeds of one
config, reported as mean ± std (:mod:`.multi_seed`); several configs (an
ablation's variants) over seeds, compared with Welch's intervals of their
differences (:mod:`.ablation`); the runs they share (:mod:`.runs`).

Nothing is imported here, so that ``python -m
cascade_clip.experiments.multi_seed`` (and ``.ablation``) run their module
once.
"""
