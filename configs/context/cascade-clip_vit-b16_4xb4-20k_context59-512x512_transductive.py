_base_ = './cascade-clip_vit-b16_4xb4-40k_context59-512x512_inductive.py'
custom_imports = dict(imports=['cascade_clip'], allow_failed_imports=False)
# Transductive: self-training with pseudo-labels for the unseen classes,
# started from the inductive model at iteration 20k.
load_from = 'work_dirs/cascade-clip_vit-b16_4xb4-40k_context59-512x512_inductive/iter_20000.pth'  # noqa
model = dict(self_training=True, decode_head=dict(seen_score_shift=0.0))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=1e-6,
        by_epoch=False,
        begin=0,
        end=20000),
]
train_cfg = dict(max_iters=20000, val_interval=2000)
default_hooks = dict(checkpoint=dict(interval=2000))
