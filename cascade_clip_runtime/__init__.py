"""Cascade-CLIP's inference outside the network, without PyTorch.

Everything between an image file and its labels and pictures that is not
the model itself lives here once: reading and orienting images, the test
resize, the windows and the merging of their scores, the resize back and
the best class per pixel, shares, legends, overlays and label pictures,
output file names, class lists and prompt templates, the CLIP tokenizer,
and the format of an ONNX export. ``cascade_clip`` runs its PyTorch model
through these steps (:class:`~.segmenter.Segmenter` with a PyTorch
backend), and :mod:`.onnx_backend` runs an exported model through the same
steps with onnxruntime.

It needs numpy and Pillow (ftfy and regex for the tokenizer, onnxruntime
for ONNX models) and never imports torch, mmengine, mmseg, mmcv, OpenCV or
``cascade_clip``: the folder can be installed on its own (``pip install
./cascade_clip_runtime``) or copied, and runs as ``python -m
cascade_clip_runtime`` (docs/deployment.md). Nothing is imported here.
"""
