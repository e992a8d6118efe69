"""Measuring models: FLOPs and parameter counts (:mod:`.complexity`,
``tools/flops.py``) and inference / training speed (:mod:`.benchmark`,
``tools/benchmark.py``), the cost of long class lists
(:mod:`.vocabulary_cost`, ``tools/vocabulary_cost.py``) and the ONNX
runtime against PyTorch (:mod:`.onnx_benchmark`,
``tools/benchmark_onnx.py``). Models come from
:func:`~cascade_clip.apis.init_model`."""
