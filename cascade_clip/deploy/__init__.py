"""Deployment without PyTorch: :mod:`.export` writes a trained model as ONNX
files with a manifest (``tools/export_onnx.py``), and :mod:`.onnx_runtime`
segments images with them using onnxruntime and numpy alone (docs/
deployment.md).

Nothing is imported here: ``python -m cascade_clip.deploy.onnx_runtime``
and a copied-out ``onnx_runtime.py`` must run where torch is not
installed, and :mod:`.export` needs it.
"""
