# AdamW 2e-5 with the paper's custom keys (mmengine applies the longest
# matching key only, so every trainable parameter gets lr x10, decay 0.01);
# poly decay over all 20k iterations with a linear warm-up over the first 1500.
optimizer = dict(type='AdamW', lr=2e-5, weight_decay=0.01)
# GroupedOptimWrapperConstructor applies the keys as mmengine's default
# constructor does, then merges its one-group-per-parameter into one group
# per distinct lr / decay (the same update, stepped as multi-tensor ops).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    constructor='GroupedOptimWrapperConstructor',
    paramwise_cfg=dict(
        custom_keys={
            'backbone': dict(lr_mult=10.0),
            'text_encoder': dict(lr_mult=0.0),
            'norm': dict(decay_mult=0.0),
            'ln': dict(decay_mult=0.0),
            'head': dict(lr_mult=10.0),
        }))
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
train_cfg = dict(type='IterBasedTrainLoop', max_iters=20000, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # atomic_local: a checkpoint is renamed into place once fully written
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=2000,
        backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
