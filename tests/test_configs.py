"""Every config builds, and the paper's configs hold SPEC §5 and §6."""
import glob
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmseg.registry import DATASETS, METRICS, MODELS

from cascade_clip.testing.datasets import CUSTOM_CLASSES

CONFIGS = sorted(
    path for path in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                               recursive=True) if '_base_' not in path)


def dataset_classes(dataset_cfg) -> tuple:
    """The classes of a (possibly concatenated) dataset config's type."""
    if dataset_cfg.type == 'ConcatDataset':
        [classes] = {dataset_classes(d) for d in dataset_cfg.datasets}
        return classes
    if dataset_cfg.type == 'CustomZeroShotDataset':
        return CUSTOM_CLASSES  # the classes.txt written below
    return tuple(DATASETS.get(dataset_cfg.type).METAINFO['classes'])


def test_every_config_builds_its_model(tmp_path):
    """... whose classes are its datasets' and whose split its metrics
    share."""
    assert len(CONFIGS) > 0
    # The custom-dataset configs read their classes from the dataset's
    # classes.txt, which is not in the repository: give them one.
    class_file = tmp_path / 'classes.txt'
    class_file.write_text('\n'.join(CUSTOM_CLASSES) + '\n')
    built = 0
    for path in CONFIGS:
        cfg = Config.fromfile(path)
        cfg.model.pretrained = None
        for field in (cfg.model, cfg.get('val_evaluator'),
                      cfg.get('test_evaluator')):
            if str(field.get('class_names')).endswith('classes.txt'):
                field.class_names = str(class_file)
        if '/tiny/' in path:
            model = MODELS.build(cfg.model)
        else:  # every constructor runs, without allocating ViT-B/16 weights
            model = build_on_meta(cfg.model)
        assert model.num_classes == len(model.class_names), path
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader'):
            if cfg.get(loader):
                assert tuple(model.class_names) == dataset_classes(
                    cfg[loader].dataset), (path, loader)
        for key in ('val_evaluator', 'test_evaluator'):
            metric = METRICS.build(cfg[key])
            split = (model.seen_classes, model.unseen_classes)
            if not metric.class_split:  # one all-classes report
                assert model.unseen_classes == [], (path, key)
                split = ([], [])
            assert metric.class_splits(model.class_names) == split, (path,
                                                                     key)
        built += 1
    assert built == len(CONFIGS)


def config(name):
    return Config.fromfile(osp.join(REPO, 'configs', name))


def build_on_meta(model_cfg):
    """The model's structure without allocating or initialising weights."""
    with torch.device('meta'):
        return MODELS.build(dict(model_cfg, pretrained=None))


# setting: (folder, inductive file, transductive file, classes, unseen,
#           prompt tokens, inductive iters, transductive iters, transductive
#           start iter, templates, transductive batch per GPU)
PAPER = {
    'voc': ('voc', 'cascade-clip_vit-b16_4xb4-20k_voc20-512x512_inductive.py',
            'cascade-clip_vit-b16_4xb8-10k_voc20-512x512_transductive.py', 20,
            [15, 16, 17, 18, 19], 10, 20000, 10000, 10000, 'single', 8),
    'context':
    ('context', 'cascade-clip_vit-b16_4xb4-40k_context59-512x512_inductive.py',
     'cascade-clip_vit-b16_4xb4-20k_context59-512x512_transductive.py', 59,
     [0, 2, 3, 7, 9, 13, 17, 19, 31, 37], 35, 40000, 20000, 20000, 'multi',
     4),
    'coco': (
        'coco',
        'cascade-clip_vit-b16_4xb4-80k_coco-stuff171-512x512_inductive.py',
        'cascade-clip_vit-b16_4xb4-40k_coco-stuff171-512x512_transductive.py',
        171, [
            19, 23, 28, 29, 36, 51, 76, 88, 94, 112, 133, 136, 137, 157, 160
        ], 50, 80000, 40000, 40000, 'multi', 4),
}


def check_optimizer_and_schedule(cfg, iters):
    optim = cfg.optim_wrapper
    assert optim.type == 'OptimWrapper'
    assert optim.optimizer == dict(type='AdamW', lr=2e-5, weight_decay=0.01)
    assert optim.paramwise_cfg.custom_keys == {
        'backbone': dict(lr_mult=10.0),
        'text_encoder': dict(lr_mult=0.0),
        'norm': dict(decay_mult=0.0),
        'ln': dict(decay_mult=0.0),
        'head': dict(lr_mult=10.0),
    }
    warmup, poly = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.begin,
            warmup.end) == ('LinearLR', 1e-6, 0, 1500)
    assert (poly.type, poly.power, poly.eta_min, poly.begin,
            poly.end) == ('PolyLR', 0.9, 1e-6, 0, iters)
    assert not warmup.by_epoch and not poly.by_epoch
    assert cfg.train_cfg.max_iters == iters


def check_model(cfg, num_classes, unseen, tokens, templates):
    model = cfg.model
    assert model.backbone.num_prompt_tokens == tokens
    assert model.backbone.prompt_depth == 11
    assert model.backbone.out_indices == [5, 6, 7, 8, 9, 10]
    assert model.backbone.drop_path_rate == 0.1
    assert model.backbone.input_resolution == 512
    assert model.backbone.frozen_exclude == ['prompt']
    assert model.text_encoder.freeze and not model.text_encoder.frozen_exclude
    # the split comes from the table the configs name (ZERO_SHOT_SPLITS)
    built = build_on_meta(model)
    assert built.unseen_classes == unseen
    metric = METRICS.build(cfg.test_evaluator)
    assert metric.class_splits(built.class_names)[1] == unseen
    assert model.prompt_templates == templates
    assert model.pretrained == 'clip_pretrain/ViT-B-16.pt'
    assert model.test_cfg == dict(
        mode='slide', crop_size=(512, 512), stride=(426, 426))
    assert model.data_preprocessor.size == (512, 512)
    head = model.decode_head
    assert head.stages == [[0, 1, 2], [3, 4, 5], [6]]
    assert (head.num_layers, head.num_heads, head.img_size) == (3, 8, 512)
    assert head.loss_decode.focal_weight == 100.0
    assert head.loss_decode.dice_weight == 1.0
    assert built.num_classes == num_classes
    assert len(built.seen_classes) == num_classes - len(unseen)


def check_pipelines(cfg):
    train = cfg.train_dataloader.dataset
    pipelines = ([d.pipeline for d in train.datasets]
                 if train.type == 'ConcatDataset' else [train.pipeline])
    for pipeline in pipelines:
        steps = {step.type: step for step in pipeline}
        assert steps['RandomResize'].scale == (2048, 512)
        assert steps['RandomResize'].ratio_range == (0.5, 2.0)
        assert steps['RandomCrop'].crop_size == (512, 512)
        assert steps['RandomCrop'].cat_max_ratio == 0.75
        assert steps['RandomFlip'].prob == 0.5
        assert 'PhotoMetricDistortion' in steps
    test_steps = {step.type: step for step in cfg.test_pipeline}
    assert test_steps['ResizeShortestEdge'].scale == 512
    assert 'RandomFlip' not in test_steps


@pytest.mark.parametrize('setting', sorted(PAPER))
def test_paper_hyper_parameters(setting):
    (folder, inductive, transductive, num_classes, unseen, tokens, iters,
     st_iters, st_start, templates, st_batch) = PAPER[setting]
    ind = config(osp.join(folder, inductive))
    check_model(ind, num_classes, unseen, tokens, templates)
    check_optimizer_and_schedule(ind, iters)
    check_pipelines(ind)
    assert not ind.model.self_training
    assert ind.model.decode_head.seen_score_shift == 0.1
    assert ind.train_dataloader.batch_size == 4

    st = config(osp.join(folder, transductive))
    check_model(st, num_classes, unseen, tokens, templates)
    check_optimizer_and_schedule(st, st_iters)
    assert st.model.self_training
    assert st.model.decode_head.seen_score_shift == 0.0
    assert st.train_dataloader.batch_size == st_batch
    assert st.load_from == (f'work_dirs/{inductive[:-3]}/iter_{st_start}.pth')
    # the inductive run keeps the checkpoint the transductive one starts from
    assert st_start % ind.default_hooks.checkpoint.interval == 0

    with open(osp.join(REPO, 'configs', folder, transductive)) as f:
        assert f"_base_ = './{inductive}'" in f.read()


@pytest.mark.parametrize('target,classes,templates,ignore',
                         [('voc20', 20, 'single', 255),
                          ('context59', 59, 'multi', 255),
                          ('voc21', 21, 'single', 255),
                          ('ade20k150', 150, 'multi', 255),
                          ('ade20k847', 847, 'multi', 65535),
                          ('pascal-context459', 459, 'multi', 65535)])
def test_cross_dataset_configs(target, classes, templates, ignore):
    cfg = config(f'cross_dataset/cascade-clip_vit-b16_coco-stuff171-to-'
                 f'{target}-512x512.py')
    assert cfg.model.unseen_classes == []
    assert cfg.test_evaluator.get('unseen_classes', []) == []
    # no seen/unseen split on the target: all classes, none called seen
    assert cfg.test_evaluator.class_split is False
    assert cfg.test_evaluator.get('ignore_index', 255) == ignore
    assert cfg.model.backbone.num_prompt_tokens == 50
    assert cfg.model.prompt_templates == templates
    model = build_on_meta(cfg.model)
    assert model.num_classes == classes
    dataset = DATASETS.get(cfg.test_dataloader.dataset.type)
    assert list(model.class_names) == list(dataset.METAINFO['classes'])
    if target == 'context59':
        return  # no tiny copy
    # the tiny copy of the config reads the tiny data in the same layout
    tiny = config(f'tiny/cascade-clip_tiny_coco-stuff171-to-{target}-'
                  '64x64.py')
    assert tiny.test_dataloader.dataset.type == (
        cfg.test_dataloader.dataset.type)
    assert tiny.test_dataloader.dataset.data_prefix == (
        cfg.test_dataloader.dataset.data_prefix)
    assert tiny.test_evaluator == cfg.test_evaluator


def test_single_decoder_baselines_use_the_last_map_only():
    for folder in ('voc', 'context', 'coco'):
        [path] = glob.glob(
            osp.join(REPO, 'configs', folder, 'single-decoder_*.py'))
        cfg = Config.fromfile(path)
        head = build_on_meta(cfg.model).decode_head
        assert head.stages == ((0, ), )
        assert len(head.decoders) == 1 and len(head.nga_weights) == 0


def test_default_freezing_trains_exactly_the_prompts_and_the_head():
    cfg = config(PAPER['coco'][0] + '/' + PAPER['coco'][1])
    model = build_on_meta(cfg.model)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    head = {
        n
        for n, _ in model.named_parameters() if n.startswith('decode_head.')
    }
    assert trainable == {
        'backbone.prompt_embeddings',
        'backbone.deep_prompt_embeddings',
        'backbone.prompt_proj.weight',
        'backbone.prompt_proj.bias',
        'backbone.prompt_norm.weight',
        'backbone.prompt_norm.bias',
    } | head
    # q_projs, NGA weights, 3 decoders x 3 layers x (q k v proj linear1
    # linear2 norm_attn norm_ffn) x (weight, bias)
    assert len(head) == 3 * 2 + 2 + 3 * 3 * 16


def test_custom_template_and_its_tiny_copy():
    """The template names its unseen classes once, for the model and the
    metric, and reads its classes from the dataset's classes.txt."""
    for path, root in (
        ('custom/cascade-clip_vit-b16_1xb4-20k_custom-512x512_inductive.py',
         'data/my_dataset'),
        ('tiny/cascade-clip_tiny_1xb2-20_custom-64x64_inductive.py',
         'data/tiny/my_dataset')):
        cfg = config(path)
        assert cfg.model.class_names == root + '/classes.txt'
        assert cfg.model.unseen_classes == ['car', 'tree']
        assert cfg.test_evaluator.unseen_classes == ['car', 'tree']
        for loader in ('train_dataloader', 'val_dataloader'):
            dataset = cfg[loader].dataset
            assert dataset.type == 'CustomZeroShotDataset'
            assert (dataset.data_root, dataset.classes) == (root,
                                                            'classes.txt')
    model = build_on_meta(
        dict(cfg.model, class_names=list(CUSTOM_CLASSES)))
    assert model.unseen_classes == [3, 5]
