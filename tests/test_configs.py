"""Every config builds; cross-dataset, baseline, custom and freezing
settings. The paper's recipe itself is compared in test_recipe.py."""
import glob
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmseg.registry import DATASETS, METRICS, MODELS
from tools_helpers import COCO_INDUCTIVE, make_workspace

from cascade_clip.engine.experiment import run_train, train_config
from cascade_clip.models.backbones.cascade_layout import (cascade_out_indices,
                                                          cascade_prompt_depth)
from cascade_clip.testing.datasets import CUSTOM_CLASSES

CONFIGS = sorted(
    path for path in glob.glob(
        osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in path)


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
            assert metric.class_splits(model.class_names) == split, (path, key)
        built += 1
    assert built == len(CONFIGS)


def config(name):
    return Config.fromfile(osp.join(REPO, 'configs', name))


def build_on_meta(model_cfg):
    """The model's structure without allocating or initialising weights."""
    with torch.device('meta'):
        return MODELS.build(dict(model_cfg, pretrained=None))


# (folder, inductive config, transductive config) of the paper's settings;
# their hyper-parameters are compared with the paper's in test_recipe.py
PAPER = {
    'voc': ('voc', 'cascade-clip_vit-b16_4xb4-20k_voc20-512x512_inductive.py',
            'cascade-clip_vit-b16_4xb8-10k_voc20-512x512_transductive.py'),
    'context':
    ('context', 'cascade-clip_vit-b16_4xb4-40k_context59-512x512_inductive.py',
     'cascade-clip_vit-b16_4xb4-20k_context59-512x512_transductive.py'),
    'coco':
    ('coco',
     'cascade-clip_vit-b16_4xb4-80k_coco-stuff171-512x512_inductive.py',
     'cascade-clip_vit-b16_4xb4-40k_coco-stuff171-512x512_transductive.py'),
}


@pytest.mark.parametrize('setting', sorted(PAPER))
def test_transductive_config_is_a_diff_of_its_inductive_sibling(setting):
    """... and starts from a checkpoint that the inductive run keeps."""
    folder, inductive, transductive = PAPER[setting]
    with open(osp.join(REPO, 'configs', folder, transductive)) as f:
        assert f"_base_ = './{inductive}'" in f.read()
    ind = config(osp.join(folder, inductive))
    st = config(osp.join(folder, transductive))
    prefix = f'work_dirs/{inductive[:-3]}/iter_'
    assert st.load_from.startswith(prefix)
    start = int(st.load_from[len(prefix):-len('.pth')])
    assert 0 < start < ind.train_cfg.max_iters
    assert start % ind.default_hooks.checkpoint.interval == 0


VIT_L14 = sorted(
    glob.glob(osp.join(REPO, 'configs', '*', 'cascade-clip_vit-l14_*.py')))


@pytest.mark.parametrize('path', VIT_L14, ids=osp.basename)
def test_a_vit_l14_config_is_its_vit_b16_sibling_with_the_l14_model(path):
    """... whose blocks and prompt depth are the stage rule's, and whose
    transductive run starts from the ViT-L/14 inductive one."""
    l14 = Config.fromfile(path)
    expected = Config.fromfile(path.replace('vit-l14', 'vit-b16'))
    expected.merge_from_dict(dict(model=l14.vit_l14_model))
    if expected.get('load_from'):
        expected.load_from = expected.load_from.replace('vit-b16', 'vit-l14')
        inductive = expected.load_from.split('/')[1] + '.py'
        assert osp.isfile(osp.join(osp.dirname(path), inductive))
    got = l14.to_dict()
    got.pop('vit_l14_model')
    assert got == expected.to_dict()
    backbone = l14.model.backbone
    assert (backbone.layers, backbone.patch_size, backbone.width) == (24, 14,
                                                                      1024)
    assert tuple(backbone.out_indices) == cascade_out_indices(24) == (
        11, 13, 15, 17, 19, 21)
    assert backbone.prompt_depth == cascade_prompt_depth(24) == 23
    assert l14.model.decode_head.stages == [[0, 1, 2], [3, 4, 5], [6]]


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
    model = build_on_meta(dict(cfg.model, class_names=list(CUSTOM_CLASSES)))
    assert model.unseen_classes == [3, 5]


# The ablation of the paper's abstract (docs/ablation.md): each setting's
# cascade config, and its variants (a) single decoder on the last map, (b)
# direct aggregation of the cascade's seven maps into one decoder.
ABLATION = {
    'voc': 'voc/cascade-clip_vit-b16_4xb4-20k_voc20-512x512_inductive.py',
    'context':
    'context/cascade-clip_vit-b16_4xb4-40k_context59-512x512_inductive.py',
    'coco':
    'coco/cascade-clip_vit-b16_4xb4-80k_coco-stuff171-512x512_inductive.py',
    'shapes': 'shapes/cascade-clip_tiny_1xb16-2k_shapes20-64x64_inductive.py',
    'tiny': 'tiny/cascade-clip_tiny_1xb2-40_voc20-64x64_inductive.py',
}
VARIANT_DIFFERENCES = {
    'single-decoder': {
        'model.backbone.out_indices': [],
        'model.decode_head.stages': [[0]]
    },
    'direct-aggregation': {
        'model.decode_head.stages': [[0, 1, 2, 3, 4, 5, 6]],
        'model.decode_head.nga_init': 'uniform'
    },
}


def variant_config(setting: str, method: str) -> str:
    cascade = ABLATION[setting]
    folder, name = cascade.split('/')
    return f'{folder}/{method}{name[len("cascade-clip"):]}'


def differences(a, b, prefix: str = '') -> dict:
    """``{dotted key: value in b}`` of every setting in which the config
    dicts ``a`` and ``b`` differ (``'<absent>'`` where b lacks it)."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return {} if a == b else {prefix: b}
    found = {}
    for key in sorted(set(a) | set(b)):
        name = f'{prefix}.{key}' if prefix else key
        if key not in b:
            found[name] = '<absent>'
        elif key not in a:
            found[name] = b[key]
        else:
            found.update(differences(a[key], b[key], name))
    return found


@pytest.mark.parametrize('setting', sorted(ABLATION))
@pytest.mark.parametrize('method', sorted(VARIANT_DIFFERENCES))
def test_ablation_variants_differ_from_the_cascade_only_in_the_head(
        setting, method):
    """... (and the maps the head reads): the same data, schedule and
    everything else; built, (a) has one decoder on the last map, (b) one
    decoder on all seven maps with equal weights."""
    cascade = config(ABLATION[setting]).to_dict()
    variant = config(variant_config(setting, method))
    assert differences(cascade, variant.to_dict()) == (
        VARIANT_DIFFERENCES[method])
    head = build_on_meta(variant.model).decode_head
    assert len(head.decoders) == len(head.q_projs) == 1
    maps = len(variant.model.backbone.out_indices) + 1  # and the last one
    assert head.stages == (tuple(range(maps)), )
    if method == 'single-decoder':
        assert maps == 1 and len(head.nga_weights) == 0
    else:
        assert maps == 7 and head.nga_init == 'uniform'
        assert [tuple(w.shape) for w in head.nga_weights] == [(7, )]
        with torch.device('cpu'):
            weights = head._initial_nga_weights(7)
        assert torch.equal(weights, torch.full((7, ), 1 / 7))


@pytest.fixture(scope='module')
def tiny_workspace(tmp_path_factory):
    return make_workspace(str(tmp_path_factory.mktemp('variants')), coco=True)


@pytest.mark.parametrize('method', sorted(VARIANT_DIFFERENCES))
def test_the_tiny_coco_copy_trains_as_the_ablation_variants(
        method, tiny_workspace, monkeypatch):
    """COCO-Stuff-171's variant differences (those of the test above)
    applied to its tiny copy train and are checkpointed with the variant's
    head. VOC-20's tiny variants (configs/tiny/) run through
    tools/ablation.py in test_experiments/test_ablation.py; Context-59's
    differ from their cascade as VOC-20's do (it has no tiny copy)."""
    options = differences(
        config(ABLATION['coco']).to_dict(),
        config(variant_config('coco', method)).to_dict())
    work = osp.join(tiny_workspace, 'work_dirs', method)
    monkeypatch.chdir(tiny_workspace)
    run_train(
        train_config(
            COCO_INDUCTIVE,
            work_dir=work,
            cfg_options=dict(
                options, **{
                    'train_cfg.max_iters': 2,
                    'default_hooks.checkpoint.interval': 2,
                    'val_cfg': None,
                    'val_dataloader': None,
                    'val_evaluator': None
                })),
        tables=False)
    state = torch.load(
        osp.join(work, 'iter_2.pth'), map_location='cpu')['state_dict']
    assert not any(k.startswith('decode_head.decoders.1.') for k in state)
    nga = [k for k in state if k.startswith('decode_head.nga_weights')]
    if method == 'single-decoder':
        assert nga == []
    else:
        assert nga == ['decode_head.nga_weights.0']
        assert state[nga[0]].shape == (7, )
        # trained: no longer the equal weights it started with
        assert not torch.equal(state[nga[0]], torch.full((7, ), 1 / 7))
