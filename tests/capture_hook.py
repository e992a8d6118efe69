"""A hook for tests only: records what the image encoder receives."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class CaptureBackboneInputHook(Hook):
    """Saves, for the first test batch, the first image as the pipeline
    packed it (``packed``, uint8 BGR ``(3, H, W)``), its file
    (``img_path``) and the tensor the image encoder's forward received
    (``backbone_input``) to ``path``."""

    def __init__(self, path: str):
        self.path = path
        self.record = {}
        self.handle = None

    def before_test(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        self.handle = model.backbone.register_forward_pre_hook(self._keep)

    def _keep(self, module, args) -> None:
        self.record.setdefault('backbone_input', args[0].detach().clone())

    def before_test_iter(self, runner, batch_idx, data_batch=None) -> None:
        if 'packed' not in self.record:
            self.record['packed'] = data_batch['inputs'][0].clone()
            self.record['img_path'] = data_batch['data_samples'][0].img_path

    def after_test(self, runner) -> None:
        self.handle.remove()
        torch.save(self.record, self.path)
