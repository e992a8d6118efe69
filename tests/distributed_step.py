"""One training step of the tiny model, in one process or as one rank of a
gloo group; for tests/test_engine/test_distributed.py (a module, so that
spawned processes can import it)."""
import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

import cascade_clip  # noqa: F401  (registers the modules)
from cascade_clip.testing import tiny_model_config

SIZE = (64, 64)


def build():
    """The tiny model without dropout, and plain SGD (AdamW's first step
    hardly depends on the gradients' scale, so it would hide a wrongly
    scaled loss)."""
    register_all_modules(init_default_scope=True)
    cfg = tiny_model_config()
    cfg['backbone'].update(drop_path_rate=0.0, prompt_dropout=0.0)
    cfg['decode_head'].update(dropout=0.0)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    optim_wrapper = build_optim_wrapper(
        model, dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.5)))
    return model, optim_wrapper


def batch(indices):
    """Images and labels ``indices`` of a fixed random set, as the data
    loader hands them over."""
    generator = torch.Generator().manual_seed(1)
    images = torch.randint(
        0, 256, (2, 3, *SIZE), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 20, (2, *SIZE), generator=generator)
    labels[:, :8] = 255
    labels[1][labels[1] < 10] = 255  # the images differ in class count
    samples = []
    for i in indices:
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=labels[i][None])
        sample.set_metainfo(dict(ori_shape=SIZE, img_shape=SIZE))
        samples.append(sample)
    return dict(inputs=[images[i] for i in indices], data_samples=samples)


def rank_step(rank: int, world_size: int, folder: str) -> None:
    """Rank ``rank`` steps on image ``rank`` in a gloo group and rank 0
    saves the weights (``two.pth``); before that, outside the group, rank 0
    steps on both images alone (``one.pth``) and rank 1 saves the initial
    weights (``before.pth``)."""
    if rank == 0:
        model, optim_wrapper = build()
        model.train_step(batch([0, 1]), optim_wrapper)
        torch.save(model.state_dict(), f'{folder}/one.pth')
    else:
        torch.save(build()[0].state_dict(), f'{folder}/before.pth')
    dist.init_process_group(
        'gloo',
        init_method=f'file://{folder}/init',
        rank=rank,
        world_size=world_size)
    try:
        model, optim_wrapper = build()
        wrapped = MMDistributedDataParallel(
            module=model, find_unused_parameters=True)
        wrapped.train_step(batch([rank]), optim_wrapper)
        if rank == 0:
            torch.save(model.state_dict(), f'{folder}/two.pth')
    finally:
        dist.destroy_process_group()
