"""The paper's recipe around the model: every setting of its 8 released
configs (``tests/data/golden/recipe.json``, resolved with their ``_base_``
files) against our resolved config, field by field.

Each side is flattened into the same named fields, the paper's with its own
framework's rules (mmcv 1.x's parameter-wise keys, mmseg 0.x's transform
defaults), ours from the built objects where one exists (the optimiser's
parameter groups, the model's split). A field that differs fails the test
with both values, unless :data:`DEPARTURES` lists it with its reason; a
departure that no longer differs fails too, so the table stays true.
"""
import fnmatch
import inspect
import json
import os.path as osp
import re

import pytest
import torch
from conftest import GOLDEN_DIR, REPO
from mmengine.config import Config
from mmseg.registry import (DATASETS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS,
                            TRANSFORMS)

from cascade_clip.checkpoint import convert_official_state_dict
from cascade_clip.checkpoint.official import _stages_from_official

# our config of each of the paper's settings
SETTINGS = {
    'voc20_inductive':
    'voc/cascade-clip_vit-b16_4xb4-20k_voc20-512x512_inductive.py',
    'voc20_transductive':
    'voc/cascade-clip_vit-b16_4xb8-10k_voc20-512x512_transductive.py',
    'context59_inductive':
    'context/cascade-clip_vit-b16_4xb4-40k_context59-512x512_inductive.py',
    'context59_transductive':
    'context/cascade-clip_vit-b16_4xb4-20k_context59-512x512_transductive.py',
    'coco171_inductive':
    'coco/cascade-clip_vit-b16_4xb4-80k_coco-stuff171-512x512_inductive.py',
    'coco171_transductive':
    'coco/cascade-clip_vit-b16_4xb4-40k_coco-stuff171-512x512_transductive.py',
    'coco171_to_voc20':
    'cross_dataset/cascade-clip_vit-b16_coco-stuff171-to-voc20-512x512.py',
    'coco171_to_context59':
    'cross_dataset/cascade-clip_vit-b16_coco-stuff171-to-context59-512x512.py',
}

# What differs from the paper on purpose: (setting pattern, field pattern,
# reason). Patterns are fnmatch patterns; README.md has the same table.
DEPARTURES = [
    ('*', 'evaluation.during_training',
     'we evaluate every checkpoint interval to show progress; the paper '
     'never evaluates while training. Evaluation changes no weight '
     '(dropout is reseeded per iteration).'),
    ('*', 'anomaly_detection',
     'the paper\'s train.py turns on autograd\'s anomaly detection, which '
     'only slows training down.'),
    ('*', 'param.*self_attn*',
     'the paper\'s decoder layers carry a self-attention and norm1 that its '
     'forward pass never uses; they receive no gradient and change no '
     'output, so this model does not have them.'),
    ('*', 'param.*norm1*', 'see self_attn: unused in the paper\'s forward.'),
    ('coco171_to_*', 'schedule.*',
     'cross-dataset configs only evaluate a COCO model; the paper\'s '
     'carry its training schedule, unused.'),
    ('coco171_to_*', 'optimizer.*', 'as schedule: evaluation only.'),
    ('coco171_to_*', 'param.*', 'as schedule: evaluation only.'),
    ('coco171_to_*', 'train.*', 'as schedule: evaluation only.'),
    ('coco171_to_*', 'batch.*', 'as schedule: evaluation only.'),
    ('coco171_to_*', 'transductive_start', 'as schedule: evaluation only.'),
]

# mmseg 0.x's PhotoMetricDistortion defaults, which the paper's configs use
PAPER_PHOTOMETRIC = dict(
    brightness_delta=32,
    contrast_range=(0.5, 1.5),
    saturation_range=(0.5, 1.5),
    hue_delta=18)


def load_recipe() -> dict:
    path = osp.join(GOLDEN_DIR, 'recipe.json')
    assert osp.isfile(path), f'no recipe.json in {GOLDEN_DIR}'
    with open(path) as f:
        return json.load(f)


RECIPE = load_recipe()


def paper_effective_options(names, optimizer: dict) -> dict:
    """lr and weight decay of each trainable parameter by mmcv 1.x's rule:
    the first custom key (longest first, ties alphabetical) contained in
    the parameter's name sets its multipliers."""
    keys = optimizer['paramwise_cfg']['custom_keys']
    ordered = sorted(sorted(keys), key=len, reverse=True)
    options = {}
    for name in names:
        lr, decay = optimizer['lr'], optimizer['weight_decay']
        for key in ordered:
            if key in name:
                lr *= keys[key].get('lr_mult', 1.0)
                decay *= keys[key].get('decay_mult', 1.0)
                break
        options[name] = (lr, decay)
    return options


def paper_trainable_names() -> list:
    """The parameters the paper trains, under its names (those its
    train.py leaves trainable, recorded in init_stats.json)."""
    with open(osp.join(GOLDEN_DIR, 'init_stats.json')) as f:
        return sorted(json.load(f)['stats'])


def our_name(paper_name: str):
    converted, _ = convert_official_state_dict({paper_name: None})
    return next(iter(converted), None)


def step(pipeline: list, kind: str) -> dict:
    [found] = [s for s in pipeline if s['type'] == kind]
    return found


def paper_fields(setting: str) -> dict:
    r = RECIPE['settings'][setting]
    fields = {}
    norm = r['img_norm_cfg']
    for pipeline in ('train_pipeline', 'test_pipeline'):
        normalize = step(r[pipeline], 'Normalize')
        assert {k: normalize[k] for k in norm} == norm, (setting, pipeline)
    fields['normalisation.mean'] = tuple(norm['mean'])
    fields['normalisation.std'] = tuple(norm['std'])
    fields['normalisation.to_rgb'] = norm['to_rgb']

    opt = r['optimizer']
    fields['optimizer.type'] = opt['type']
    fields['optimizer.lr'] = opt['lr']
    fields['optimizer.weight_decay'] = opt['weight_decay']
    fields['optimizer.grad_clip'] = r['grad_clip']
    for name, (lr, decay) in paper_effective_options(paper_trainable_names(),
                                                     opt).items():
        ours = our_name(name) or name
        fields[f'param.{ours}.lr'] = lr
        fields[f'param.{ours}.weight_decay'] = decay

    lr_cfg = r['lr_config']
    assert (lr_cfg['policy'], lr_cfg['warmup'],
            lr_cfg['by_epoch']) == ('poly', 'linear', False)
    fields['schedule.warmup_iters'] = lr_cfg['warmup_iters']
    fields['schedule.warmup_ratio'] = lr_cfg['warmup_ratio']
    fields['schedule.poly_power'] = lr_cfg['power']
    fields['schedule.min_lr'] = lr_cfg['min_lr']
    fields['schedule.poly_iters'] = r['max_iters']
    fields['schedule.max_iters'] = r['max_iters']
    fields['schedule.checkpoint_interval'] = r['checkpoint_interval']
    fields['batch.per_gpu'] = r['samples_per_gpu']
    fields['batch.gpus'] = r['gpus']
    fields['batch.workers_per_gpu'] = r['workers_per_gpu']
    behaviour = RECIPE['behaviour']
    fields['evaluation.during_training'] = 'evaluation interval = max_iters' \
        ' + 1' not in behaviour['evaluation']
    fields['anomaly_detection'] = 'set_detect_anomaly(True)' in behaviour[
        'anomaly_detection']

    train = r['train_pipeline']
    annotations = step(train, 'LoadAnnotations')
    fields['train.reduce_zero_label'] = annotations.get(
        'reduce_zero_label', False)
    resize = step(train, 'Resize')
    fields['train.scale'] = tuple(resize['img_scale'])
    fields['train.ratio_range'] = tuple(resize['ratio_range'])
    fields['train.keep_ratio'] = resize.get('keep_ratio', True)
    crop = step(train, 'RandomCrop')
    fields['train.crop'] = tuple(crop['crop_size'])
    fields['train.cat_max_ratio'] = crop['cat_max_ratio']
    fields['train.flip'] = step(train, 'RandomFlip')['prob']
    distortion = step(train, 'PhotoMetricDistortion')
    fields['train.photometric'] = dict(
        PAPER_PHOTOMETRIC, **{
            k: v
            for k, v in distortion.items() if k != 'type'
        })
    pad = step(train, 'Pad')
    fields['train.pad_size'] = tuple(pad['size'])
    fields['train.pad_val'] = pad['pad_val']
    fields['train.seg_pad_val'] = pad['seg_pad_val']
    fields['train.order'] = tuple(s['type'] for s in train
                                  if s['type'] in ('Resize', 'RandomCrop',
                                                   'RandomFlip',
                                                   'PhotoMetricDistortion'))
    data = r['train_data']
    dirs = data['ann_dir'] if isinstance(data['ann_dir'],
                                         list) else [data['ann_dir']]
    splits = data['split'] if isinstance(data['split'],
                                         list) else [data['split']]
    fields['train.data'] = tuple(
        (data['img_dir'], ann, split) for ann, split in zip(dirs, splits))

    test = r['test_pipeline']
    scale = step(test, 'MultiScaleFlipAug')
    resize = step(test, 'Resize')
    assert resize['keep_ratio'] and not scale['flip']
    # img_scale (2048, 512) with keep_ratio, then at least min_size: the
    # short side is 512 for every aspect ratio up to 4:1 and beyond.
    assert scale['img_scale'][1] == resize['min_size']
    fields['test.short_side'] = resize['min_size']
    fields['test.flip'] = scale['flip']
    fields['test.reduce_zero_label'] = fields['train.reduce_zero_label']
    data = r['test_data']
    fields['test.data'] = (data['img_dir'], data['ann_dir'], data['split'])
    fields['test.mode'] = r['test_cfg']['mode']
    fields['test.crop'] = tuple(r['test_cfg']['crop_size'])
    fields['test.stride'] = tuple(r['test_cfg']['stride'])

    backbone = r['backbone']
    fields['backbone.input_resolution'] = backbone['input_resolution']
    fields['backbone.patch_size'] = backbone['patch_size']
    fields['backbone.width'] = backbone['width']
    fields['backbone.layers'] = backbone['layers']
    fields['backbone.embed_dims'] = backbone['output_dim']
    fields['backbone.prompt_tokens'] = backbone['num_tokens']
    fields['backbone.prompt_depth'] = backbone['total_d_layer']
    fields['backbone.out_indices'] = tuple(backbone['out_indices'])
    fields['backbone.trained'] = r['exclude_key']
    # drop_path_rate is in the config, but its blocks never apply it
    assert 'never calls self.drop_path' in behaviour['drop_path']
    fields['backbone.stochastic_depth'] = 0.0
    text = r['text_encoder']
    fields['text_encoder'] = (text['context_length'],
                              text['transformer_width'],
                              text['transformer_heads'],
                              text['transformer_layers'], text['embed_dim'])
    head = r['decode_head']
    fields['head.embed_dims'] = head['embed_dims']
    fields['head.layers'] = head['num_layers']
    fields['head.heads'] = head['num_heads']
    fields['head.img_size'] = head['img_size']
    fields['head.stages'] = _stages_from_official(head['use_stages'],
                                                  len(backbone['out_indices']))
    loss = head['loss_decode']
    fields['head.loss_weights'] = (loss['mask_weight'], loss['dice_weight'],
                                   loss['loss_weight'])
    fields['classes'] = tuple(r['all'])
    fields['classes.seen'] = tuple(r['seen'])
    fields['classes.unseen'] = tuple(r['unseen'])
    fields['self_training'] = r['self_training']
    # docs/method.md §4.6: seen channels lowered by 0.1 after inductive
    # training only
    fields['test.seen_score_shift'] = 0.0 if r['self_training'] else 0.1
    fields['prompt_templates'] = re.search(r'_(single|multi)\.npy$',
                                           r['load_text_embedding']).group(1)
    if r['self_training']:
        # "starts each transductive run from the inductive checkpoint at
        # half the inductive schedule"
        assert 'half the inductive schedule' in behaviour['transductive_start']
        sibling = setting.replace('transductive', 'inductive')
        fields['transductive_start'] = RECIPE['settings'][sibling][
            'max_iters'] // 2
    else:
        fields['transductive_start'] = None
    return fields


def build_on_meta(model_cfg):
    with torch.device('meta'):
        return MODELS.build(dict(model_cfg, pretrained=None))


def our_effective_options(cfg, model) -> dict:
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type=cfg.optim_wrapper.get('constructor',
                                       'DefaultOptimWrapperConstructor'),
            optim_wrapper_cfg=dict(
                type=cfg.optim_wrapper.type,
                optimizer=cfg.optim_wrapper.optimizer),
            paramwise_cfg=cfg.optim_wrapper.get('paramwise_cfg')))
    optimizer = constructor(model).optimizer
    names = {id(p): n for n, p in model.named_parameters()}
    options = {}
    for group in optimizer.param_groups:
        for param in group['params']:
            if param.requires_grad:
                options[names[id(param)]] = (group['lr'],
                                             group['weight_decay'])
    return options


def init_default(cls, name):
    """The default of ``name`` in the first ``__init__`` of ``cls``'s
    classes that takes it."""
    for base in cls.__mro__:
        parameters = inspect.signature(base.__init__).parameters
        if name in parameters:
            return parameters[name].default
    raise KeyError(f'no __init__ of {cls.__name__} takes {name}')


def our_fields(setting: str) -> dict:
    path = osp.join(REPO, 'configs', SETTINGS[setting])
    cfg = Config.fromfile(path)
    model_cfg = cfg.model
    model = build_on_meta(model_cfg)
    fields = {}
    pre = model_cfg.data_preprocessor
    fields['normalisation.mean'] = tuple(pre.mean)
    fields['normalisation.std'] = tuple(pre.std)
    fields['normalisation.to_rgb'] = pre.bgr_to_rgb

    training = cfg.get('optim_wrapper') is not None
    if training:
        opt = cfg.optim_wrapper.optimizer
        fields['optimizer.type'] = opt.type
        fields['optimizer.lr'] = opt.lr
        fields['optimizer.weight_decay'] = opt.weight_decay
        fields['optimizer.grad_clip'] = cfg.optim_wrapper.get('clip_grad')
        for name, (lr, decay) in our_effective_options(cfg, model).items():
            fields[f'param.{name}.lr'] = lr
            fields[f'param.{name}.weight_decay'] = decay
        warmup, poly = cfg.param_scheduler
        assert (warmup.type, poly.type) == ('LinearLR', 'PolyLR')
        assert not warmup.by_epoch and not poly.by_epoch
        assert warmup.begin == poly.begin == 0
        fields['schedule.warmup_iters'] = warmup.end
        fields['schedule.warmup_ratio'] = warmup.start_factor
        fields['schedule.poly_power'] = poly.power
        fields['schedule.min_lr'] = poly.eta_min
        fields['schedule.poly_iters'] = poly.end
        fields['schedule.max_iters'] = cfg.train_cfg.max_iters
        fields['schedule.checkpoint_interval'] = (
            cfg.default_hooks.checkpoint.interval)
        gpus = int(re.search(r'_(\d+)xb(\d+)-', path).group(1))
        assert int(re.search(r'_(\d+)xb(\d+)-', path).group(2)) == (
            cfg.train_dataloader.batch_size), 'the name says another batch'
        fields['batch.per_gpu'] = cfg.train_dataloader.batch_size
        fields['batch.gpus'] = gpus
        fields['batch.workers_per_gpu'] = cfg.train_dataloader.num_workers
        fields['evaluation.during_training'] = (
            cfg.train_cfg.get('val_interval', 1) <= cfg.train_cfg.max_iters)
        fields['anomaly_detection'] = False
        fields.update(our_train_fields(cfg))
        st_start = None
        if model_cfg.self_training:
            match = re.search(r'/(.+)/iter_(\d+)\.pth$', cfg.load_from)
            inductive = SETTINGS[setting.replace('transductive', 'inductive')]
            assert match.group(1) == osp.basename(inductive)[:-3]
            st_start = int(match.group(2))
        fields['transductive_start'] = st_start
    else:  # evaluation only: no train field to compare
        fields['evaluation.during_training'] = False
        fields['anomaly_detection'] = False

    test = cfg.test_dataloader.dataset
    steps = {s.type: s for s in test.pipeline}
    assert 'RandomFlip' not in steps
    fields['test.short_side'] = steps['ResizeShortestEdge'].scale
    assert steps['ResizeShortestEdge'].max_size >= 4 * 512
    fields['test.flip'] = False
    fields['test.reduce_zero_label'] = test.get(
        'reduce_zero_label',
        init_default(DATASETS.get(test.type), 'reduce_zero_label'))
    fields['test.data'] = (test.data_prefix.img_path,
                           test.data_prefix.seg_map_path, test.get('ann_file')
                           or None)
    test_cfg = model_cfg.test_cfg
    fields['test.mode'] = test_cfg.mode
    fields['test.crop'] = tuple(test_cfg.crop_size)
    fields['test.stride'] = tuple(test_cfg.stride)

    backbone = model.backbone
    fields['backbone.input_resolution'] = backbone.input_resolution
    fields['backbone.patch_size'] = backbone.patch_size
    fields['backbone.width'] = backbone.conv1.out_channels
    fields['backbone.layers'] = len(backbone.transformer.resblocks)
    fields['backbone.embed_dims'] = backbone.embed_dims
    fields['backbone.prompt_tokens'] = backbone.num_prompt_tokens
    fields['backbone.prompt_depth'] = backbone.prompt_depth
    fields['backbone.out_indices'] = backbone.out_indices
    [trained] = model_cfg.backbone.frozen_exclude
    assert model_cfg.backbone.freeze
    fields['backbone.trained'] = trained
    fields['backbone.stochastic_depth'] = model_cfg.backbone.drop_path_rate
    text = model_cfg.text_encoder
    assert text.freeze and not text.frozen_exclude
    fields['text_encoder'] = (text.context_length, text.width, text.heads,
                              text.layers, text.embed_dims)
    head = model.decode_head
    fields['head.embed_dims'] = head.embed_dims
    fields['head.layers'] = head.num_layers
    fields['head.heads'] = head.decoders[0].layers[0].cross_attn.num_heads
    fields['head.img_size'] = head.img_size[0]
    assert head.img_size[0] == head.img_size[1]
    fields['head.stages'] = head.stages
    loss = head.loss_decode
    fields['head.loss_weights'] = (loss.focal_weight, loss.dice_weight, 1.0)
    fields['classes'] = tuple(range(model.num_classes))
    fields['classes.seen'] = tuple(model.seen_classes)
    fields['classes.unseen'] = tuple(model.unseen_classes)
    fields['self_training'] = model.self_training
    fields['test.seen_score_shift'] = head.seen_score_shift
    fields['prompt_templates'] = ('single' if model_cfg.prompt_templates
                                  == 'single' else 'multi')
    return fields


def our_train_fields(cfg) -> dict:
    dataset = cfg.train_dataloader.dataset
    datasets = (
        dataset.datasets if dataset.type == 'ConcatDataset' else [dataset])
    [pipeline] = {json.dumps(d.pipeline, sort_keys=True) for d in datasets}
    train = json.loads(pipeline)
    fields = {}
    first = datasets[0]
    fields['train.reduce_zero_label'] = first.get(
        'reduce_zero_label',
        init_default(DATASETS.get(first.type), 'reduce_zero_label'))
    resize = step(train, 'RandomResize')
    fields['train.scale'] = tuple(resize['scale'])
    fields['train.ratio_range'] = tuple(resize['ratio_range'])
    fields['train.keep_ratio'] = resize['keep_ratio']
    crop = step(train, 'RandomCrop')
    fields['train.crop'] = tuple(crop['crop_size'])
    fields['train.cat_max_ratio'] = crop['cat_max_ratio']
    fields['train.flip'] = step(train, 'RandomFlip')['prob']
    distortion = step(train, 'PhotoMetricDistortion')
    cls = TRANSFORMS.get('PhotoMetricDistortion')
    fields['train.photometric'] = {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in dict({
            k: init_default(cls, k)
            for k in PAPER_PHOTOMETRIC
        }, **{
            k: v
            for k, v in distortion.items() if k != 'type'
        }).items()
    }
    pre = cfg.model.data_preprocessor
    fields['train.pad_size'] = tuple(pre.size)
    fields['train.pad_val'] = pre.pad_val
    fields['train.seg_pad_val'] = pre.seg_pad_val
    names = {'RandomResize': 'Resize'}
    fields['train.order'] = tuple(
        names.get(s['type'], s['type']) for s in train
        if s['type'] in ('RandomResize', 'RandomCrop', 'RandomFlip',
                         'PhotoMetricDistortion'))
    fields['train.data'] = tuple(
        (d.data_prefix.img_path, d.data_prefix.seg_map_path,
         d.get('ann_file') or None) for d in datasets)
    return fields


def departure(setting: str, field: str):
    for setting_pattern, field_pattern, reason in DEPARTURES:
        if fnmatch.fnmatch(setting, setting_pattern) and fnmatch.fnmatch(
                field, field_pattern):
            return reason
    return None


def normalise(value):
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return tuple(normalise(v) for v in value)
    if isinstance(value, float):
        return round(value, 12)
    return value


def compare(setting: str, paper: dict, ours: dict) -> list:
    """Differences not listed as departures, and departures that do not
    differ, as lines naming the field and both values."""
    problems = []
    for field in sorted(set(paper) | set(ours)):
        a = normalise(paper.get(field, '<absent>'))
        b = normalise(ours.get(field, '<absent>'))
        if a != b and not departure(setting, field):
            problems.append(f'{setting}: {field}: paper {a!r}, ours {b!r}')
    return problems


@pytest.mark.parametrize('setting', sorted(SETTINGS))
def test_recipe_matches_the_paper(setting):
    paper, ours = paper_fields(setting), our_fields(setting)
    assert len(paper) > 200  # the per-parameter fields are there
    problems = compare(setting, paper, ours)
    assert not problems, '\n'.join(problems)


def test_every_departure_is_a_real_difference():
    """A departure that no setting needs is stale: remove it."""
    used = set()
    for setting in SETTINGS:
        paper, ours = paper_fields(setting), our_fields(setting)
        for field in set(paper) | set(ours):
            if normalise(paper.get(field, '<absent>')) != normalise(
                    ours.get(field, '<absent>')):
                for entry in DEPARTURES:
                    if fnmatch.fnmatch(setting, entry[0]) and fnmatch.fnmatch(
                            field, entry[1]):
                        used.add(entry[:2])
    stale = [entry[:2] for entry in DEPARTURES if entry[:2] not in used]
    assert not stale, f'departures that differ nowhere: {stale}'


def test_recipe_covers_all_released_settings():
    assert sorted(RECIPE['settings']) == sorted(SETTINGS)


def test_a_changed_setting_is_named_with_both_values():
    """The comparison itself: a changed field and an extra one fail."""
    paper = paper_fields('voc20_inductive')
    ours = dict(paper, **{'train.cat_max_ratio': 0.5, 'extra': 1})
    problems = compare('voc20_inductive', paper, ours)
    assert problems == [
        "voc20_inductive: extra: paper '<absent>', ours 1",
        'voc20_inductive: train.cat_max_ratio: paper 0.75, ours 0.5'
    ]


# ------------------------------------------------------- initialisation
def paper_init_stats() -> dict:
    with open(osp.join(GOLDEN_DIR, 'init_stats.json')) as f:
        return json.load(f)


def tensor_stats(tensor) -> dict:
    t = tensor.detach().double()
    return dict(
        std=t.std().item(),
        min=t.min().item(),
        max=t.max().item(),
        abs_mean=t.abs().mean().item())


def init_problems(name: str, ours: dict, paper: dict, numel: int) -> list:
    """Where the statistics of one tensor of ours are not those of the
    paper's within sampling noise: 5% of the paper's std for 10k elements
    or more, 15% below (a 512-element bias's std varies by ~3% per draw);
    constant tensors (LayerNorms, zero biases) and tensors of a few
    deterministic values (the NGA weights) exactly. Uniform tensors (whose
    bound is sqrt(3) std) have the paper's bounds; normal ones (Kaiming)
    have no bound, and their extremes are only checked to be Gaussian
    tails (3 to 7 std for these sizes)."""
    problems = []
    if paper['std'] == 0 or numel < 10:
        for key in ('std', 'min', 'max', 'abs_mean'):
            if abs(ours[key] - paper[key]) > 1e-6:
                problems.append(f'{name}: {key} {ours[key]:.6g}, paper '
                                f'{paper[key]:.6g}')
        return problems
    tolerance = 0.05 if numel >= 10000 else 0.15
    scale = paper['std']
    for key in ('std', 'abs_mean'):
        if abs(ours[key] - paper[key]) > tolerance * paper[key]:
            problems.append(f'{name}: {key} {ours[key]:.6g}, paper '
                            f'{paper[key]:.6g} (tolerance {tolerance:.0%})')
    bound = max(-paper['min'], paper['max'])
    if bound <= 3**0.5 * scale * 1.05:  # uniform: compare the bounds
        for key in ('min', 'max'):
            if abs(ours[key] - paper[key]) > tolerance * bound:
                problems.append(f'{name}: {key} {ours[key]:.6g}, paper '
                                f'{paper[key]:.6g} (tolerance {tolerance:.0%}'
                                ' of the bound)')
    else:
        for key in ('min', 'max'):
            tail = abs(ours[key]) / ours['std']
            if not 3 <= tail <= 7:
                problems.append(f'{name}: {key} is {tail:.1f} std from 0; '
                                'the paper\'s is a Gaussian tail')
    return problems


@pytest.fixture(scope='module')
def model_at_step_zero():
    """The VOC inductive model at ViT-B/16 widths as our training starts:
    built from its config, then ``init_weights()`` as the Runner calls it
    (CLIP's weights are not loaded: they are not trained)."""
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', SETTINGS['voc20_inductive']))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = MODELS.build(dict(cfg.model, pretrained=None))
        built = {k: v.clone() for k, v in model.state_dict().items()}
        model.init_weights()
    return model, built


def test_initialisation_is_the_papers(model_at_step_zero):
    model, _ = model_at_step_zero
    recorded = paper_init_stats()
    params = dict(model.named_parameters())
    trainable = {n for n, p in params.items() if p.requires_grad}
    compared, problems = set(), []
    for paper_name, paper in recorded['stats'].items():
        name = our_name(paper_name)
        if name is None:  # decoder self_attn / norm1: not in this model
            assert 'self_attn' in paper_name or 'norm1' in paper_name
            continue
        assert name in trainable, f'{name} ({paper_name}) does not train'
        param = params[name]
        assert list(param.shape) == paper['shape'], name
        problems += init_problems(name, tensor_stats(param), paper,
                                  param.numel())
        compared.add(name)
    assert compared == trainable, sorted(trainable ^ compared)
    assert not problems, '\n'.join(problems)


def test_decoder_layers_start_identical_and_decoders_differ(
        model_at_step_zero):
    model, _ = model_at_step_zero
    recorded = paper_init_stats()['layers_identical']
    assert recorded and all(recorded.values())
    state = model.state_dict()
    checked = 0
    for pattern in recorded:
        name = our_name(pattern.replace('*', '0'))
        if name is None:  # parts of the paper's layers that we drop
            continue
        layers = [
            name.replace('.layers.0.', f'.layers.{i}.')
            for i in range(model.decode_head.num_layers)
        ]
        for other in layers[1:]:
            assert torch.equal(state[layers[0]], state[other]), other
        checked += 1
    assert checked == 3 * 16  # 3 decoders x 16 tensors of ours per layer
    # the decoders are built apart: their (random) weights differ
    q0, q1 = (
        state[f'decode_head.decoders.{i}.layers.0.cross_attn.q.weight']
        for i in (0, 1))
    assert not torch.equal(q0, q1)


def test_init_weights_keeps_the_head_and_prompts_as_built(model_at_step_zero):
    """The Runner's ``init_weights`` call at step 0 must not re-initialise
    what the paper leaves at PyTorch's defaults."""
    model, built = model_at_step_zero
    for name, param in model.named_parameters():
        if param.requires_grad:
            assert torch.equal(param, built[name]), name


def test_trunc_normal_option_initialises_layers_apart():
    from cascade_clip.testing import tiny_model_config
    cfg = tiny_model_config()
    cfg['decode_head'] = dict(cfg['decode_head'], init_mode='trunc_normal')
    head = MODELS.build(cfg).decode_head
    layers = head.decoders[0].layers
    assert not torch.equal(layers[0].linear1.weight, layers[1].linear1.weight)
    assert abs(layers[0].linear1.weight.std().item() - 0.02) < 0.004
    assert not layers[0].linear1.bias.any()
    with pytest.raises(ValueError, match='init_mode'):
        MODELS.build(dict(cfg['decode_head'], init_mode='xavier'))


# ------------------------------------------------------ stochastic depth
def test_no_stochastic_depth_in_training():
    """In training mode with every dropout at 0, two passes of the image
    encoder of the paper's configs (here at the tiny widths of
    configs/tiny, which inherit them) give the same maps: stochastic
    depth would drop a different set of blocks per image each time."""
    from cascade_clip.testing import tiny_model_config
    cfg = tiny_model_config()
    backbone_cfg = dict(cfg['backbone'], prompt_dropout=0.0)
    backbone = MODELS.build(backbone_cfg).train()
    images = torch.randn(
        8, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    first, first_global = backbone(images)
    second, second_global = backbone(images)
    for a, b in zip(first, second):
        assert torch.equal(a, b)
    assert torch.equal(first_global, second_global)
