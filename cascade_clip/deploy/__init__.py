"""Deployment without PyTorch: :mod:`.export` writes a trained model as ONNX
files with a manifest (``tools/export_onnx.py``), which
:mod:`cascade_clip_runtime` runs with onnxruntime and numpy alone
(docs/deployment.md)."""
from .export import ExportResult, export_onnx

__all__ = ['ExportResult', 'export_onnx']
