# The tiny VOC run's transductive sibling (see the VOC transductive config),
# started from the tiny inductive model at iteration 20.
_base_ = './cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py'
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
load_from = 'work_dirs/cascade-clip_tiny_1xb2-40_voc20-64x64_inductive/iter_20.pth'  # noqa
model = dict(self_training=True, decode_head=dict(seen_score_shift=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=5),
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=1e-6,
        by_epoch=False,
        begin=0,
        end=20),
]
train_cfg = dict(max_iters=20, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=10))
