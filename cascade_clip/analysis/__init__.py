"""Measuring models: FLOPs and parameter counts (:mod:`.complexity`,
``tools/flops.py``) and inference / training speed (:mod:`.benchmark`,
``tools/benchmark.py``). Models come from
:func:`~cascade_clip.apis.init_model`."""
