# The shapes world's transductive step: self-training with pseudo-labels
# for the unseen classes, started from the inductive model, as the paper's
# transductive configs start from their inductive siblings.
_base_ = './cascade-clip_tiny_1xb16-2k_shapes20-64x64_inductive.py'
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
load_from = 'work_dirs/cascade-clip_tiny_1xb16-2k_shapes20-64x64_inductive/iter_2000.pth'  # noqa
model = dict(self_training=True, decode_head=dict(seen_score_shift=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=50),
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=1e-6,
        by_epoch=False,
        begin=0,
        end=500),
]
train_cfg = dict(max_iters=500, val_interval=500)
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=500))
