default_scope = 'mmseg'
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # tools/train.py switches to gloo on CPU
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
# The last decoder layers' value, output and FFN weights feed no output (only
# their attention logits are used), so DDP must expect unused parameters.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
log_level = 'INFO'
load_from = None
resume = False
# IterSeedHook reseeds dropout before every iteration so that a resumed run
# continues exactly as an uninterrupted one; PlainMessageHubHook keeps
# checkpoints loadable with torch.load(weights_only=True).
custom_hooks = [dict(type='IterSeedHook'), dict(type='PlainMessageHubHook')]
