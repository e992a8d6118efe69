"""A synthetic world in which zero-shot segmentation can be learned and
measured with nothing downloaded: scenes of coloured shapes
(:mod:`.world`), a tiny CLIP pre-trained on their captions
(:mod:`.pretrain`, shipped as ``tiny_clip_shapes.safetensors``) and the
demo that trains Cascade-CLIP on them (:mod:`.demo`).

Only :mod:`.world` is imported here: the datasets and the class lists use
it, and it imports nothing of the package.
"""
