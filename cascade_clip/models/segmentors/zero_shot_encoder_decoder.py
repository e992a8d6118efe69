from contextlib import nullcontext
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmseg.models.segmentors import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList, add_prefix
from torch import Tensor

from cascade_clip_runtime.classes import check_class_names
from cascade_clip_runtime.scores import slide_scores
from ...checkpoint.clip_weights import read_clip_weights
from ...checkpoint.official import convert_on_load
from ...structures import ZeroShotSplit, resolve_class_names
from ..layers import resize_bilinear
from ..text_embeddings import resolve_templates
from .class_embeddings import ClassEmbeddings, check_shape
from .cuda_graphs import CUDAGraphCache
from .postprocess import scores_to_samples
from .torch_ops import TORCH
from .zero_shot_labels import ZeroShotLabels


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

    The model owns its classes (``zero_shot_split``, made from the same
    config fields as the metric's; :meth:`set_classes` switches to others),
    indexed in the dataset's order. Training gives the head the seen
    classes' embeddings (inductive) or all (``self_training``), with the
    labels of :class:`~.zero_shot_labels.ZeroShotLabels`; inference always
    scores every class (docs/method.md §4-5).

    The class embeddings come from ``text_embeddings`` (a ``.npy`` file) or,
    without one, from the class names and ``prompt_templates`` through the
    text encoder, computed once and cached (see
    :class:`~.class_embeddings.ClassEmbeddings`, ``self.embeddings``).

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
        test_cfg: ``mode`` (``'whole'`` or ``'slide'``); ``crop_size``,
            ``stride`` and ``windows_per_batch`` (default all) of the
            windows; ``cuda_graph`` (replay inference from captured CUDA
            graphs; default off); ``amp`` (the networks under bfloat16
            autocast at test time, the scores in float32; default off);
            ``keep_seg_logits`` (default true: keep every class's scores at
            full size; false: only the labels, see
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
        dims = {
            part: getattr(getattr(self, part), 'embed_dims', None)
            for part in ('backbone', 'text_encoder', 'decode_head')
        }
        if len(set(dims.values())) > 1:
            raise ValueError(
                'the image encoder, text encoder and head must share the '
                'width of CLIP\'s joint space: embed_dims are ' +
                ', '.join(f'{part} {dims[part]}' for part in dims))
        self.embeddings = ClassEmbeddings(prompt_templates, text_embeddings)
        self._cuda_graphs = CUDAGraphCache(self._encode_decode, self)
        self.align_corners = False
        self.pretrained = pretrained
        self.train_cfg = train_cfg
        self.test_cfg = dict(test_cfg or dict(mode='whole'))
        self.self_training = self_training
        self.ignore_index = ignore_index
        if class_names is None and num_classes is None:
            raise ValueError('give the model `class_names` (or `num_classes` '
                             'with a `text_embeddings` file)')
        if class_names is None and text_embeddings is None:
            raise ValueError('without `class_names`, the class embeddings '
                             'need a `text_embeddings` .npy file')
        self._use_split(
            ZeroShotSplit.build(class_names, num_classes, seen_classes,
                                unseen_classes))
        self._register_load_state_dict_pre_hook(
            convert_on_load, with_module=True)
        # new weights may embed the classes differently
        self.register_load_state_dict_post_hook(
            lambda module, keys: module.embeddings.reset())

    # --------------------------------------------------------------- classes
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

    @property
    def seen_mask(self) -> Tensor:
        """``(num_classes,)``: which classes are seen."""
        return self.label_map.seen_mask

    def _use_split(self, split: ZeroShotSplit) -> None:
        """Makes ``split`` the model's classes, with the label tables it
        needs, and empties the embedding cache."""
        if not split.seen and not self.self_training:
            raise ValueError('inductive training needs seen classes')
        self.zero_shot_split = split
        self.out_channels = split.num_classes
        self.label_map = ZeroShotLabels(split,
                                        self.ignore_index).to(self.device)
        self.embeddings.give(None)

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
        embeddings = self.embeddings
        templates = (
            embeddings.templates if prompt_templates is None else
            resolve_templates(prompt_templates))
        given = None
        if isinstance(classes, Tensor):
            given, names = classes.detach().float(), None
            count = len(given) if given.ndim else 0
            check_shape(given, (count, self.decode_head.embed_dims),
                        'the given embeddings')
        else:
            names = resolve_class_names(classes)
            check_class_names(names)
            count = len(names)
        if count < 2:
            raise ValueError('give at least two classes: with one class '
                             'every pixel is that class')
        split = ZeroShotSplit.build(names, count, seen_classes, unseen_classes
                                    or ())
        if (given is None and split == self.zero_shot_split
                and templates == embeddings.templates and not embeddings.file
                and embeddings.given is None):
            return
        embeddings.templates = templates
        embeddings.file = None
        self._use_split(split)
        if given is not None:
            embeddings.give(given.to(self.device))

    # ------------------------------------------------------- text embeddings
    @property
    def class_embeddings(self) -> Optional[Tensor]:
        """The cached class embeddings (``None`` before the first use)."""
        return self.embeddings.cache

    def _shape(self) -> Tuple[int, int]:
        return self.num_classes, self.decode_head.embed_dims

    def compute_class_embeddings(self) -> Tensor:
        """Reads or computes the ``(num_classes, C)`` class embeddings."""
        return self.embeddings.compute(self.text_encoder, self.class_names,
                                       self._shape())

    def get_class_embeddings(self) -> Tensor:
        """All classes' embeddings ``(num_classes, C)``, computed once and
        cached (recomputed every call only if the text encoder trains)."""
        return self.embeddings.get(self.text_encoder, self.class_names,
                                   self._shape())

    def cache_class_embeddings(self, placeholder: bool = False) -> str:
        """Fills the class-embedding cache now instead of at the first
        pass; ``placeholder``: random unit vectors of the right shape
        instead of the text encoder's (for counting FLOPs and timing, which
        depend only on the shape). Returns where they come from, see
        :meth:`~.class_embeddings.ClassEmbeddings.fill`."""
        return self.embeddings.fill(self.text_encoder, self.class_names,
                                    self._shape(), placeholder)

    def train_embeddings(self) -> Tensor:
        """The embeddings the head trains with: the seen classes'
        (inductive) or all (transductive)."""
        embeddings = self.get_class_embeddings()
        if self.self_training:
            return embeddings
        return embeddings[self.seen_classes]

    def zero_shot_labels(self, labels: Tensor, pred_masks: Tensor) -> Tensor:
        """Dataset labels ``(B, H, W)`` as the head's channels (see
        :class:`~.zero_shot_labels.ZeroShotLabels`)."""
        return self.label_map(labels, pred_masks, self.self_training)

    # ----------------------------------------------------------------- modes
    def extract_feat(self,
                     inputs: Tensor) -> Tuple[Tuple[Tensor, ...], Tensor]:
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
                and not self.embeddings.every_pass(self.text_encoder)):
            # captured again for a new embedding cache or seen mask (or
            # moved or edited weights, see cuda_graphs.parameter_state)
            return self._cuda_graphs(
                inputs, (self.get_class_embeddings(), self.seen_mask))
        return self._encode_decode(inputs)

    def _encode_decode(self, inputs: Tensor) -> Tensor:
        # test_cfg['amp']: the networks under bfloat16 autocast, the scores
        # back in float32 (they are summed over windows and resized). Off,
        # it leaves a caller's own autocast in force (enabled=False would
        # switch that off).
        amp = (
            torch.autocast(inputs.device.type, dtype=torch.bfloat16)
            if self.test_cfg.get('amp') else nullcontext())
        with amp:
            pred_masks = self.decode_head(
                self.extract_feat(inputs), self.get_class_embeddings())
            scores = self.decode_head.predict_by_feat(pred_masks,
                                                      self.seen_mask)
        return resize_bilinear(scores.float(), inputs.shape[2:])

    def slide_inference(
            self,
            inputs: Tensor,
            batch_img_metas: Optional[List[dict]] = None) -> Tensor:
        """Scores from overlapping windows, averaged where they overlap; the
        windows of all images run through the model in batches of
        ``test_cfg['windows_per_batch']`` crops (default: all at once)."""
        return slide_scores(self.encode_decode, inputs, self.num_classes,
                            tuple(self.test_cfg['crop_size']),
                            tuple(self.test_cfg['stride']),
                            self.test_cfg.get('windows_per_batch'), TORCH)

    def inference(self,
                  inputs: Tensor,
                  batch_img_metas: Optional[List[dict]] = None) -> Tensor:
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
        calibrated scores at the original size) of each sample (the image
        metas are not needed to score: they come with the samples)."""
        return self.postprocess_result(
            self.inference(inputs, None), data_samples)

    def postprocess_result(self,
                           seg_logits: Tensor,
                           data_samples: OptSampleList = None) -> SampleList:
        """Labels (and, with ``test_cfg['keep_seg_logits']``, the default,
        scores) at each image's original size."""
        if seg_logits.shape[1] < 2:
            return super().postprocess_result(seg_logits, data_samples)
        return scores_to_samples(seg_logits, data_samples, self.align_corners,
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
        self.backbone.forward = torch.compile(self.backbone.forward, **options)

    # --------------------------------------------------------------- weights
    def init_weights(self) -> None:
        super().init_weights()
        if self.pretrained:
            weights = read_clip_weights(self.pretrained)
            self.backbone.load_clip_weights(weights, self.pretrained)
            self.text_encoder.load_clip_weights(weights, self.pretrained)
        self.embeddings.reset()
