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
from ...structures import ZeroShotSplit, resolve_class_names
from ..layers import resize_bilinear
from .cuda_graphs import CUDAGraphCache
from .postprocess import scores_to_samples
from ..text_embeddings import (check_open_vocabulary, encode_class_names,
                               load_text_embeddings, resolve_templates)


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

    The model owns its classes: ``class_names``, ``num_classes``,
    ``seen_classes`` and ``unseen_classes`` make its
    :class:`~cascade_clip.structures.ZeroShotSplit` (``zero_shot_split``;
    a config gives the metric the same fields), and :meth:`set_classes`
    switches to others. Classes are indexed in the dataset's order.
    Inductive training (the default) gives the head only the seen classes'
    embeddings and maps the labels to seen positions (other classes are
    ignored); transductive training (``self_training=True``) gives it every
    class and relabels the unseen pixels with the model's own prediction
    among the unseen classes. Inference always scores every class.

    The class embeddings come from ``text_embeddings`` (a ``.npy`` file) or,
    without one, from the class names and ``prompt_templates`` through the
    text encoder. Either way they are computed once, on first use, and
    cached (not saved in checkpoints); :meth:`cache_class_embeddings` fills
    the cache ahead, with placeholders for counting and timing.

    Args:
        backbone: Image encoder config (e.g. ``CLIPVisionTransformer``).
        text_encoder: Text encoder config (``CLIPTextTransformer``).
        decode_head: Head config (``CascadeHead``).
        class_names: All classes of the dataset, in order: a list, the name
            of a setting of the paper (``'voc20'``, ``'context59'``,
            ``'coco_stuff171'``, which also gives its unseen classes) or a
            text file with one name per line.
        num_classes: Number of classes, when ``class_names`` is not given.
        text_embeddings: ``.npy`` file of ``(num_classes, C)`` embeddings.
        prompt_templates: ``'single'``, ``'multi'`` or a list of templates.
        seen_classes: Indices or names of the seen classes (default: all
            that are not unseen).
        unseen_classes: Indices or names of the unseen classes (default:
            the setting's, else none).
        self_training: Transductive training with pseudo-labels.
        pretrained: CLIP weight file (``ViT-B-16.pt``) for both towers.
        train_cfg: Unused, for mmseg compatibility.
        test_cfg: ``mode`` (``'whole'`` or ``'slide'``), ``crop_size`` and
            ``stride`` of the windows, ``windows_per_batch`` (how many
            windows run through the model at once; default all) and
            ``cuda_graph`` (replay inference on a GPU from captured CUDA
            graphs, one per window batch shape; default off) and
            ``keep_seg_logits`` (default true: each sample keeps the scores
            of every class at its original size, ``seg_logits``; false:
            only the labels, computed in bounded memory, see
            :func:`~.postprocess.scores_to_samples`).
        data_preprocessor: ``SegDataPreProcessor`` config.
        ignore_index: Label value that is not a class.
    """

    def __init__(self,
                 backbone: dict,
                 text_encoder: dict,
                 decode_head: dict,
                 class_names: Union[str, Sequence[str], None] = None,
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
        self._cuda_graphs = CUDAGraphCache(self._encode_decode)
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
        # embeddings given to set_classes (kept when the cache is emptied)
        self.register_buffer('_given_embeddings', None, persistent=False)
        self._embeddings_source: Optional[str] = None
        self._use_split(
            ZeroShotSplit.build(class_names, num_classes, seen_classes,
                                unseen_classes))
        self._register_load_state_dict_pre_hook(self._before_load)

    # ----------------------------------------------------------------- classes
    @property
    def device(self) -> torch.device:
        """Where the model's parameters are."""
        return next(self.parameters()).device

    @property
    def class_names(self) -> Optional[List[str]]:
        names = self.zero_shot_split.class_names
        return None if names is None else list(names)

    @property
    def num_classes(self) -> int:
        return self.zero_shot_split.num_classes

    @property
    def seen_classes(self) -> List[int]:
        return list(self.zero_shot_split.seen)

    @property
    def unseen_classes(self) -> List[int]:
        return list(self.zero_shot_split.unseen)

    def _use_split(self, split: ZeroShotSplit) -> None:
        """Makes ``split`` the model's classes, with the label tables it
        needs, and empties the embedding cache."""
        if not split.seen and not self.self_training:
            raise ValueError('inductive training needs seen classes')
        self.zero_shot_split = split
        num_classes = split.num_classes
        self.out_channels = num_classes
        device = self.device
        seen_mask = torch.zeros(num_classes, dtype=torch.bool)
        seen_mask[list(split.seen)] = True
        # Inductive label map: seen class -> its position in `seen`, others
        # (unseen, neither and the ignore index) -> ignore index.
        table = max(num_classes, self.ignore_index) + 1
        to_seen = torch.full((table, ), self.ignore_index, dtype=torch.long)
        to_seen[list(split.seen)] = torch.arange(len(split.seen))
        is_unseen = torch.zeros(table, dtype=torch.bool)
        is_unseen[list(split.unseen)] = True
        self.register_buffer('seen_mask', seen_mask.to(device), False)
        self.register_buffer('_to_seen', to_seen.to(device), False)
        self.register_buffer('_is_unseen', is_unseen.to(device), False)
        self.register_buffer(
            '_unseen_ids',
            torch.tensor(split.unseen, dtype=torch.long, device=device),
            False)
        self._given_embeddings = None
        self._reset_class_embeddings()

    def set_classes(self,
                    classes: Union[str, Sequence[str], Tensor],
                    prompt_templates: Union[str, Sequence[str], None] = None,
                    seen_classes: Optional[Sequence[int]] = None,
                    unseen_classes: Optional[Sequence[int]] = None) -> None:
        """Switches the model to other classes (open vocabulary).

        The embeddings of names are computed with the text encoder at the
        next forward pass and cached; setting the same names and templates
        again keeps the cache.

        Args:
            classes: Two or more distinct class names (a list, a setting or
                a text file), or their ``(K, C)`` embeddings.
            prompt_templates: Templates for the names' embeddings (default:
                keep the current ones).
            seen_classes: Ids of the seen classes; by default all classes
                are seen, so the seen-score shift moves every channel alike
                and changes no label.
            unseen_classes: Ids of the unseen classes (default: none).
        """
        templates = (self.prompt_templates if prompt_templates is None else
                     resolve_templates(prompt_templates))
        embeddings = None
        if isinstance(classes, Tensor):
            embeddings, names = classes.detach().float(), None
            dim = self.decode_head.embed_dims
            count = len(embeddings) if embeddings.ndim else 0
            if embeddings.ndim != 2 or embeddings.shape[1] != dim:
                raise ValueError(
                    f'the given embeddings have shape '
                    f'{tuple(embeddings.shape)}; the model needs ({count}, '
                    f'{dim}) (num_classes, embed_dims)')
        else:
            names = resolve_class_names(classes)
            check_open_vocabulary(names)
            count = len(names)
        if count < 2:
            raise ValueError('give at least two classes: with one class '
                             'every pixel is that class')
        split = ZeroShotSplit.build(names, count, seen_classes,
                                    unseen_classes or ())
        if (embeddings is None and split == self.zero_shot_split
                and templates == self.prompt_templates
                and not self.text_embeddings_file
                and self._given_embeddings is None):
            return
        self.prompt_templates = templates
        self.text_embeddings_file = None
        self._use_split(split)
        if embeddings is not None:
            self._given_embeddings = embeddings.to(self.device)
            self._reset_class_embeddings()

    # ---------------------------------------------------------- text embeddings
    def _check_embeddings(self, embeddings: Tensor, source: str) -> None:
        dim = self.decode_head.embed_dims
        if tuple(embeddings.shape) != (self.num_classes, dim):
            raise ValueError(
                f'{source} have shape {tuple(embeddings.shape)}; the model '
                f'needs ({self.num_classes}, {dim}) (num_classes, embed_dims)')

    def _reset_class_embeddings(self) -> None:
        """Empties the cache (the text encoder's weights may have changed);
        embeddings given to :meth:`set_classes` stay."""
        self.class_embeddings = self._given_embeddings
        self._embeddings_source = (None if self._given_embeddings is None
                                   else 'given')

    @property
    def text_encoder_trains(self) -> bool:
        """Whether the text encoder has trainable parameters; then the class
        embeddings are recomputed at every pass."""
        return any(p.requires_grad for p in self.text_encoder.parameters())

    def _embeds_every_pass(self) -> bool:
        return (self.text_encoder_trains and not self.text_embeddings_file
                and self._given_embeddings is None)

    def compute_class_embeddings(self) -> Tensor:
        """Reads or computes the ``(num_classes, C)`` class embeddings."""
        device = self.device
        if self.text_embeddings_file:
            return load_text_embeddings(self.text_embeddings_file,
                                        self.num_classes,
                                        self.decode_head.embed_dims).to(device)
        # Cached for the whole run, so computed in full precision even when
        # the first call happens under autocast.
        with torch.set_grad_enabled(self.text_encoder_trains), \
                torch.autocast(device.type, enabled=False):
            embeddings = encode_class_names(self.text_encoder,
                                            self.class_names,
                                            self.prompt_templates)
        self._check_embeddings(embeddings, 'the text encoder\'s embeddings')
        return embeddings

    def get_class_embeddings(self) -> Tensor:
        """All classes' embeddings ``(num_classes, C)``, computed once and
        cached (recomputed every call only if the text encoder trains)."""
        if self._embeds_every_pass():
            return self.compute_class_embeddings()
        if self.class_embeddings is None:
            self.class_embeddings = self.compute_class_embeddings()
            self._embeddings_source = ('file' if self.text_embeddings_file
                                       else 'text encoder')
        return self.class_embeddings

    def cache_class_embeddings(self, placeholder: bool = False) -> str:
        """Fills the class-embedding cache now instead of at the first pass.

        Args:
            placeholder: Cache random unit vectors of the right shape
                instead of running the text encoder: for counting FLOPs and
                timing, which depend only on the shape (the text encoder
                over COCO-Stuff's 171 classes x 15 templates takes minutes
                on a CPU). Embeddings from a file or given to
                :meth:`set_classes` are used as they are.

        Returns:
            Where the cached embeddings come from: ``'given'``, ``'file'``,
            ``'text encoder'`` or ``'placeholder'``; or ``'every pass'``
            when the text encoder trains and nothing is cached.
        """
        if self._embeds_every_pass():
            return 'every pass'
        if (self.class_embeddings is None and placeholder
                and not self.text_embeddings_file):
            generator = torch.Generator().manual_seed(0)
            embeddings = torch.randn(
                self.num_classes,
                self.decode_head.embed_dims,
                generator=generator)
            self.class_embeddings = F.normalize(embeddings, dim=-1).to(
                self.device)
            self._embeddings_source = 'placeholder'
        with torch.no_grad():
            self.get_class_embeddings()
        return self._embeddings_source

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
        size; replayed from a captured CUDA graph with ``test_cfg``'s
        ``cuda_graph`` on a GPU, outside training."""
        if (self.test_cfg.get('cuda_graph') and inputs.is_cuda
                and not self.training and not torch.is_grad_enabled()
                and not self.text_encoder_trains):
            # A new embedding cache, moved weights or frozen weights changed
            # in place (whose low-precision copies a graph holds, see
            # layers.frozen_cast) mean a new capture.
            guard = (self.get_class_embeddings(), self.seen_mask,
                     self.backbone.conv1.weight.data_ptr(),
                     sum(p._version for p in self.backbone.parameters()))
            return self._cuda_graphs(inputs, guard)
        return self._encode_decode(inputs)

    def _encode_decode(self, inputs: Tensor) -> Tensor:
        pred_masks = self.decode_head(
            self.extract_feat(inputs), self.get_class_embeddings())
        scores = self.decode_head.predict_by_feat(pred_masks, self.seen_mask)
        return resize_bilinear(scores, inputs.shape[2:])

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
        """Segments a batch; fills ``pred_sem_seg`` and (unless
        ``test_cfg['keep_seg_logits']`` is false) ``seg_logits`` (the
        calibrated scores at the original size) of each sample."""
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

    def postprocess_result(self,
                           seg_logits: Tensor,
                           data_samples: OptSampleList = None) -> SampleList:
        """Labels (and, with ``test_cfg['keep_seg_logits']``, the default,
        scores) at each image's original size."""
        if seg_logits.shape[1] < 2:
            return super().postprocess_result(seg_logits, data_samples)
        return scores_to_samples(
            seg_logits, data_samples, self.align_corners,
            self.test_cfg.get('keep_seg_logits', True))

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        """Raw summed masks of every class ``(B, K, *img_size)``."""
        return self.decode_head(
            self.extract_feat(inputs), self.get_class_embeddings())

    def compile_backbone(self, **options) -> None:
        """Compiles the image encoder's forward pass with ``torch.compile``
        (``options`` passed on): fused kernels for inference on a GPU. The
        weights and the state dict are unchanged."""
        self.backbone.forward = torch.compile(self.backbone.forward,
                                              **options)

    # ----------------------------------------------------------------- weights
    def init_weights(self) -> None:
        super().init_weights()
        if self.pretrained:
            weights = read_clip_weights(self.pretrained)
            self.backbone.load_clip_weights(weights, self.pretrained)
            self.text_encoder.load_clip_weights(weights, self.pretrained)
        self._reset_class_embeddings()

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
        self._reset_class_embeddings()
