from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList, add_prefix
from torch import Tensor

from ...checkpoint.clip_weights import read_clip_weights
from ...checkpoint.official import (convert_official_state_dict,
                                    is_official_state_dict)
from ..text_embeddings import (check_open_vocabulary, encode_class_names,
                               load_text_embeddings, resolve_class_names,
                               resolve_templates)


def sliding_windows(height: int, width: int, crop: Tuple[int, int],
                    stride: Tuple[int, int]) -> List[Tuple[int, int, int, int]]:
    """Windows ``(y1, y2, x1, x2)`` of at most ``crop`` covering an image.

    Per axis ``n = max(L - crop + stride - 1, 0) // stride + 1`` windows;
    window ``i`` starts at ``i * stride`` and is shifted back to end inside
    the image; where the image is smaller than the crop, so is the window.
    """

    def starts(length, size, step):
        count = max(length - size + step - 1, 0) // step + 1
        spans = []
        for i in range(count):
            end = min(i * step + size, length)
            spans.append((max(end - size, 0), end))
        return spans

    return [(y1, y2, x1, x2)
            for y1, y2 in starts(height, crop[0], stride[0])
            for x1, x2 in starts(width, crop[1], stride[1])]


def _class_indices(classes: Sequence[Union[int, str]],
                   class_names: Optional[Sequence[str]],
                   what: str) -> List[int]:
    """Class indices for indices or names of ``class_names``."""
    indices = []
    for item in classes:
        if not isinstance(item, str):
            indices.append(int(item))
        elif class_names is None:
            raise ValueError(f'{what} names the class {item!r}, but the '
                             'model has no class_names')
        elif item not in class_names:
            raise ValueError(
                f'{what} names {item!r}, which is not one of the '
                f'{len(class_names)} class_names ({list(class_names[:10])}'
                f'{"..." if len(class_names) > 10 else ""})')
        else:
            indices.append(list(class_names).index(item))
    return indices


@MODELS.register_module()
class ZeroShotEncoderDecoder(BaseSegmentor):
    """Zero-shot segmentor: CLIP image encoder, class text embeddings and a
    decode head that turns them into per-class masks.

    It only orchestrates; the call graph::

        loss(): extract_feat() -> train_embeddings() -> decode_head.forward()
                -> zero_shot_labels() -> decode_head.loss_by_feat()
        predict(): inference() -> postprocess_result()
        inference(): slide_inference() / encode_decode()
        slide_inference(): encode_decode() on batches of windows
        encode_decode(): extract_feat() -> decode_head.forward()
                         -> decode_head.predict_by_feat()
        _forward(): extract_feat() -> decode_head.forward()

    Classes are indexed in the dataset's order. Inductive training (the
    default) gives the head only the seen classes' embeddings and maps the
    labels to seen positions (unseen classes are ignored); transductive
    training (``self_training=True``) gives it every class and relabels the
    unseen pixels with the model's own prediction among the unseen classes.
    Inference always scores every class.

    The class embeddings come from ``text_embeddings`` (a ``.npy`` file) or,
    without one, from ``class_names`` and ``prompt_templates`` through the
    text encoder. Either way they are computed once, on first use, and
    cached (not saved in checkpoints).

    Args:
        backbone: Image encoder config (e.g. ``CLIPVisionTransformer``).
        text_encoder: Text encoder config (``CLIPTextTransformer``).
        decode_head: Head config (``CascadeHead``).
        class_names: All classes of the dataset, in order: a list, the name
            of a zero-shot setting (``'voc20'``, ``'context59'``,
            ``'coco_stuff171'``) or a text file with one name per line.
        num_classes: Number of classes, when ``class_names`` is not given.
        text_embeddings: ``.npy`` file of ``(num_classes, C)`` embeddings.
        prompt_templates: ``'single'``, ``'multi'`` or a list of templates.
        seen_classes: Indices (or names) of the seen classes (default: all
            that are not unseen).
        unseen_classes: Indices (or names) of the unseen classes (default:
            none).
        self_training: Transductive training with pseudo-labels.
        pretrained: CLIP weight file (``ViT-B-16.pt``) for both towers.
        train_cfg: Unused, for mmseg compatibility.
        test_cfg: ``mode`` (``'whole'`` or ``'slide'``), ``crop_size`` and
            ``stride`` of the windows, and ``windows_per_batch`` (how many
            windows run through the model at once; default all).
        data_preprocessor: ``SegDataPreProcessor`` config.
        ignore_index: Label value that is not a class.
    """

    def __init__(self,
                 backbone: dict,
                 text_encoder: dict,
                 decode_head: dict,
                 class_names: Optional[Sequence[str]] = None,
                 num_classes: Optional[int] = None,
                 text_embeddings: Optional[str] = None,
                 prompt_templates: Union[str, Sequence[str]] = 'single',
                 seen_classes: Optional[Sequence[int]] = None,
                 unseen_classes: Optional[Sequence[int]] = None,
                 self_training: bool = False,
                 pretrained: Optional[str] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 ignore_index: int = 255,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.text_encoder = MODELS.build(text_encoder)
        self.decode_head = MODELS.build(decode_head)
        self.align_corners = False
        self.pretrained = pretrained
        self.train_cfg = train_cfg
        self.test_cfg = dict(test_cfg or dict(mode='whole'))
        self.self_training = self_training
        self.ignore_index = ignore_index
        self.text_embeddings_file = text_embeddings
        self.prompt_templates = resolve_templates(prompt_templates)
        if class_names is None and num_classes is None:
            raise ValueError('give the model `class_names` (or `num_classes` '
                             'with a `text_embeddings` file)')
        if class_names is None and text_embeddings is None:
            raise ValueError('without `class_names`, the class embeddings '
                             'need a `text_embeddings` .npy file')
        self.register_buffer('class_embeddings', None, persistent=False)
        self._set_classes(class_names, num_classes, seen_classes,
                          unseen_classes)
        self._register_load_state_dict_pre_hook(self._before_load)

    # ----------------------------------------------------------------- classes
    def _set_classes(self, class_names, num_classes, seen, unseen) -> None:
        if class_names is not None:
            class_names = resolve_class_names(class_names)
            if num_classes is not None and num_classes != len(class_names):
                raise ValueError(f'num_classes={num_classes} but '
                                 f'{len(class_names)} class_names given')
            num_classes = len(class_names)
        self.class_names = class_names
        self.num_classes = num_classes
        all_ids = range(num_classes)
        unseen = [] if unseen is None else _class_indices(
            unseen, class_names, 'unseen_classes')
        if seen is None:
            seen = [i for i in all_ids if i not in set(unseen)]
        seen = _class_indices(seen, class_names, 'seen_classes')
        for name, ids in (('seen_classes', seen), ('unseen_classes', unseen)):
            outside = [i for i in ids if not 0 <= i < num_classes]
            if outside:
                raise ValueError(
                    f'{name} holds {outside}, outside the {num_classes} '
                    f'classes of this dataset (valid: 0..{num_classes - 1})')
            if len(set(ids)) != len(ids):
                raise ValueError(f'{name} repeats a class: {ids}')
        both = sorted(set(seen) & set(unseen))
        if both:
            raise ValueError(f'classes {both} are both seen and unseen')
        uncovered = sorted(set(all_ids) - set(seen) - set(unseen))
        if uncovered:
            raise ValueError(f'classes {uncovered} are neither in '
                             'seen_classes nor in unseen_classes')
        if not seen and not self.self_training:
            raise ValueError('inductive training needs seen classes')
        self.seen_classes, self.unseen_classes = seen, unseen
        self.out_channels = num_classes

        seen_mask = torch.zeros(num_classes, dtype=torch.bool)
        seen_mask[seen] = True
        # Inductive label map: seen class -> its position in `seen`, others
        # (unseen and the ignore index) -> ignore index.
        table = max(num_classes, self.ignore_index) + 1
        to_seen = torch.full((table, ), self.ignore_index, dtype=torch.long)
        to_seen[seen] = torch.arange(len(seen))
        is_unseen = torch.zeros(table, dtype=torch.bool)
        is_unseen[unseen] = True
        device = self.decode_head.q_projs[0].weight.device
        self.register_buffer('seen_mask', seen_mask.to(device), False)
        self.register_buffer('_to_seen', to_seen.to(device), False)
        self.register_buffer('_is_unseen', is_unseen.to(device), False)
        self.register_buffer('_unseen_ids',
                             torch.tensor(unseen, dtype=torch.long,
                                          device=device), False)
        self.class_embeddings = None

    def set_classes(self,
                    class_names: Sequence[str],
                    prompt_templates: Union[str, Sequence[str], None] = None,
                    embeddings: Optional[Tensor] = None) -> None:
        """Switches inference to new classes (open vocabulary). All of them
        count as seen, so the seen-score shift changes no label.

        Args:
            class_names: The new classes.
            prompt_templates: Templates for their embeddings (default: keep).
            embeddings: Precomputed ``(K, C)`` embeddings; computed with the
                text encoder when ``None``.
        """
        check_open_vocabulary(class_names)
        if prompt_templates is not None:
            self.prompt_templates = resolve_templates(prompt_templates)
        self.text_embeddings_file = None
        self._set_classes(class_names, None, None, None)
        if embeddings is not None:
            self._check_embeddings(embeddings, 'the given embeddings')
            self.class_embeddings = embeddings.to(self.seen_mask.device)

    # ---------------------------------------------------------- text embeddings
    def _check_embeddings(self, embeddings: Tensor, source: str) -> None:
        dim = self.decode_head.q_projs[0].in_features // 2
        if tuple(embeddings.shape) != (self.num_classes, dim):
            raise ValueError(
                f'{source} have shape {tuple(embeddings.shape)}; the model '
                f'needs ({self.num_classes}, {dim}) (num_classes, embed_dims)')

    def _text_encoder_trains(self) -> bool:
        return any(p.requires_grad for p in self.text_encoder.parameters())

    def compute_class_embeddings(self) -> Tensor:
        """Reads or computes the ``(num_classes, C)`` class embeddings."""
        device = self.seen_mask.device
        if self.text_embeddings_file:
            dim = self.decode_head.q_projs[0].in_features // 2
            return load_text_embeddings(self.text_embeddings_file,
                                        self.num_classes, dim).to(device)
        # Cached for the whole run, so computed in full precision even when
        # the first call happens under autocast.
        with torch.set_grad_enabled(self._text_encoder_trains()), \
                torch.autocast(device.type, enabled=False):
            embeddings = encode_class_names(self.text_encoder,
                                            self.class_names,
                                            self.prompt_templates)
        self._check_embeddings(embeddings, 'the text encoder\'s embeddings')
        return embeddings

    def get_class_embeddings(self) -> Tensor:
        """All classes' embeddings ``(num_classes, C)``, computed once and
        cached (recomputed every call only if the text encoder trains)."""
        if self._text_encoder_trains() and not self.text_embeddings_file:
            return self.compute_class_embeddings()
        if self.class_embeddings is None:
            self.class_embeddings = self.compute_class_embeddings()
        return self.class_embeddings

    def train_embeddings(self) -> Tensor:
        """The embeddings the head trains with: the seen classes'
        (inductive) or all (transductive)."""
        embeddings = self.get_class_embeddings()
        if self.self_training:
            return embeddings
        return embeddings[self.seen_classes]

    # ------------------------------------------------------------------ labels
    def zero_shot_labels(self, labels: Tensor, pred_masks: Tensor) -> Tensor:
        """Turns dataset labels ``(B, H, W)`` into the head's channels.

        Inductive: a seen class becomes its position among the seen classes,
        anything else the ignore index. Transductive: an unseen class's pixel
        takes the unseen class that ``pred_masks`` (resized to the labels)
        scores highest; seen classes and the ignore index stay.
        """
        labels = labels.long()
        bad = (labels >= self.num_classes) & (labels != self.ignore_index)
        if bad.any():
            raise ValueError(
                f'labels hold values {labels[bad].unique().tolist()}, which '
                f'are neither classes of this {self.num_classes}-class model '
                f'nor the ignore index {self.ignore_index}; check the '
                'dataset\'s label files and reduce_zero_label')
        if not self.self_training:
            return self._to_seen[labels]
        if not self.unseen_classes:
            return labels
        with torch.no_grad():
            logits = F.interpolate(
                pred_masks.detach()[:, self._unseen_ids],
                size=labels.shape[-2:],
                mode='bilinear',
                align_corners=False)
            pseudo = self._unseen_ids[logits.argmax(dim=1)]
        return torch.where(self._is_unseen[labels], pseudo, labels)

    # -------------------------------------------------------------------- modes
    def extract_feat(self, inputs: Tensor) -> Tuple[Tuple[Tensor, ...],
                                                    Tensor]:
        """The encoder's maps and global embedding."""
        return self.backbone(inputs)

    def loss(self, inputs: Tensor,
             data_samples: SampleList) -> Dict[str, Tensor]:
        """Training losses of a batch, keys prefixed with ``decode.``."""
        pred_masks = self.decode_head(
            self.extract_feat(inputs), self.train_embeddings())
        labels = torch.stack(
            [sample.gt_sem_seg.data for sample in data_samples]).squeeze(1)
        labels = self.zero_shot_labels(labels, pred_masks)
        return add_prefix(
            self.decode_head.loss_by_feat(pred_masks, labels), 'decode')

    def encode_decode(self,
                      inputs: Tensor,
                      batch_img_metas: Optional[List[dict]] = None) -> Tensor:
        """Calibrated scores of every class ``(B, K, H, W)`` at the input's
        size."""
        pred_masks = self.decode_head(
            self.extract_feat(inputs), self.get_class_embeddings())
        scores = self.decode_head.predict_by_feat(pred_masks, self.seen_mask)
        return F.interpolate(
            scores,
            size=inputs.shape[2:],
            mode='bilinear',
            align_corners=False)

    def slide_inference(self, inputs: Tensor,
                        batch_img_metas: Optional[List[dict]] = None
                        ) -> Tensor:
        """Scores from overlapping windows, averaged where they overlap; the
        windows of all images run through the model in batches of
        ``test_cfg['windows_per_batch']`` crops (default: all at once)."""
        crop = tuple(self.test_cfg['crop_size'])
        stride = tuple(self.test_cfg['stride'])
        batch, _, height, width = inputs.shape
        windows = sliding_windows(height, width, crop, stride)
        limit = self.test_cfg.get('windows_per_batch')
        per_batch = max(1, limit // batch) if limit else len(windows)
        scores = inputs.new_zeros(batch, self.num_classes, height, width)
        counts = inputs.new_zeros(1, 1, height, width)
        for first in range(0, len(windows), per_batch):
            group = windows[first:first + per_batch]
            crops = torch.cat(
                [inputs[:, :, y1:y2, x1:x2] for y1, y2, x1, x2 in group])
            group_scores = self.encode_decode(crops).split(batch)
            for (y1, y2, x1, x2), window in zip(group, group_scores):
                scores[:, :, y1:y2, x1:x2] += window
                counts[:, :, y1:y2, x1:x2] += 1
        return scores / counts

    def inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        mode = self.test_cfg.get('mode', 'whole')
        if mode == 'slide':
            return self.slide_inference(inputs, batch_img_metas)
        if mode == 'whole':
            return self.encode_decode(inputs, batch_img_metas)
        raise ValueError(f'test_cfg.mode must be "slide" or "whole", not '
                         f'{mode!r}')

    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        """Segments a batch; fills ``seg_logits`` (the calibrated scores at
        the original size) and ``pred_sem_seg`` of each sample."""
        if data_samples is not None:
            metas = [sample.metainfo for sample in data_samples]
        else:
            shape = inputs.shape[2:]
            metas = [
                dict(
                    ori_shape=shape,
                    img_shape=shape,
                    pad_shape=shape,
                    padding_size=[0, 0, 0, 0])
            ] * inputs.shape[0]
        return self.postprocess_result(
            self.inference(inputs, metas), data_samples)

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        """Raw summed masks of every class ``(B, K, *img_size)``."""
        return self.decode_head(
            self.extract_feat(inputs), self.get_class_embeddings())

    # ----------------------------------------------------------------- weights
    def init_weights(self) -> None:
        super().init_weights()
        if self.pretrained:
            weights = read_clip_weights(self.pretrained)
            self.backbone.load_clip_weights(weights, self.pretrained)
            self.text_encoder.load_clip_weights(weights, self.pretrained)
        self.class_embeddings = None

    def _before_load(self, state_dict: dict, prefix: str, *args) -> None:
        """Converts a checkpoint of the paper's implementation in place, and
        rejects any key this model does not have or misses."""
        own = {k[len(prefix):]: k for k in state_dict if k.startswith(prefix)}
        local = {key: state_dict[full] for key, full in own.items()}
        if is_official_state_dict(local):
            local, dropped = convert_official_state_dict(local)
            print_log(
                f'converted a checkpoint of the paper\'s implementation; '
                f'dropped {len(dropped)} tensors it never uses '
                '(decoder self_attn.*, norm1.*, loss empty_weight)',
                logger='current')
            for full in own.values():
                del state_dict[full]
            state_dict.update({prefix + k: v for k, v in local.items()})
        expected = set(self.state_dict().keys())
        unknown = sorted(set(local) - expected)
        missing = sorted(expected - set(local))
        if unknown or missing:
            raise KeyError(
                'the checkpoint does not fit this model: '
                f'{len(unknown)} unknown keys {unknown[:10]}, '
                f'{len(missing)} missing keys {missing[:10]}. Check that '
                'the config matches the checkpoint (classes, prompt '
                'tokens, stages).')
        self.class_embeddings = None
