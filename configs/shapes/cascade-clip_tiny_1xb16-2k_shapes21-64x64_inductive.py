# The shapes world with its background as a seen class, one of the remedies for
# pixels of no given class that docs/inference.md measures: 21 classes,
# `background` first, the same 5 unseen shapes. Its tiny CLIP was pre-trained
# with a caption for the background too, as OpenAI's CLIP knows the word:
#   python tools/pretrain_tiny_clip.py --background \
#       --out clip_pretrain/tiny-clip-shapes21.safetensors
# Everything else is the 20-class config's (docs/shapes_world.md).
_base_ = './cascade-clip_tiny_1xb16-2k_shapes20-64x64_inductive.py'
zero_shot_split = dict(class_names='shapes21')
model = dict(
    **zero_shot_split,
    pretrained='clip_pretrain/tiny-clip-shapes21.safetensors')
dataset_type = 'ShapesWorld21Dataset'
train_dataloader = dict(dataset=dict(type=dataset_type))
val_dataloader = dict(dataset=dict(type=dataset_type))
test_dataloader = val_dataloader
val_evaluator = dict(**zero_shot_split)
test_evaluator = val_evaluator
