"""Segmenting with a model folder written by ``tools/export_onnx.py``, with
onnxruntime: the ONNX backend of :class:`~.segmenter.Segmenter`.

It does what ``tools/infer.py`` does with PyTorch, step for step (the
steps are the same code, :mod:`.segmenter`), and adds the two things the
PyTorch model does inside itself: the test resize, with OpenCV's
fixed-point arithmetic (:func:`~.images.resize_uint8`), and the class
embeddings, from the CLIP tokenizer (:mod:`.tokenizer`) and the exported
text encoder: each prompt ``template.format(name)`` L2-normalised, their
mean over the templates normalised again, computed once per class list.
"""
import os.path as osp
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from .classes import TEMPLATES, check_class_names, resolve_templates
from .images import normalise, resize_uint8, resized_size
from .manifest import (EXPORT_ID_KEY, MANIFEST, ROLE_KEY, load_manifest,
                       manifest_field)
from .scores import NUMPY
from .segmenter import Backend, Padding, Segmenter, Templates, score_shift
from .tokenizer import ClipTokenizer, TextTooLongError

Names = Sequence[str]
# Prompts per text encoder run, as the PyTorch path encodes them.
PROMPTS_PER_RUN = 256
GRAPH_OPTIMIZATION = ('all', 'extended', 'basic', 'disabled')


def _session(path: str, role: str, export_id: str, options: Any,
             providers: Sequence[str]) -> Any:
    """An onnxruntime session of one of the export's ONNX files, checked
    to be that file (its metadata's role and export id)."""
    import onnxruntime
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} is missing: copy the whole model '
                                'folder that tools/export_onnx.py wrote')
    try:
        session = onnxruntime.InferenceSession(
            path, sess_options=options, providers=list(providers))
    except Exception as err:  # onnxruntime raises its own types
        reason = ' '.join(str(err).split())[:200]
        raise ValueError(f'{path} is not an ONNX model onnxruntime can '
                         f'load: {reason}') from err
    meta = session.get_modelmeta().custom_metadata_map
    if meta.get(ROLE_KEY) != role:
        raise ValueError(
            f'{path} is not the {role.replace("_", " ")} of a cascade_clip '
            f'export (its metadata has {ROLE_KEY}={meta.get(ROLE_KEY)!r}); '
            'export the model with tools/export_onnx.py')
    if meta.get(EXPORT_ID_KEY) != export_id:
        raise ValueError(
            f'{path} comes from another export than {MANIFEST} beside it '
            f'(export id {meta.get(EXPORT_ID_KEY)} against {export_id}): '
            'copy the folder of one export whole')
    return session


def _shape(arg: Any) -> List[Any]:
    return [d if isinstance(d, int) else None for d in arg.shape]


def _normalise_rows(x: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm (at least 1e-12), in float32."""
    norm = np.sqrt((x.astype(np.float32)**2).sum(axis=-1, keepdims=True))
    return (x / np.maximum(norm, np.float32(1e-12))).astype(np.float32)


class OnnxBackend(Backend):
    """The networks of an exported model folder, run with onnxruntime.

    Args:
        model_dir: The folder ``tools/export_onnx.py`` wrote.
        threads: onnxruntime's threads per operator (0: its default, one
            per physical core).
        graph_optimization: onnxruntime's graph optimisation level, one of
            :data:`GRAPH_OPTIMIZATION` (default ``'all'``).
        providers: onnxruntime execution providers (default: the CPU's).
        windows_per_batch: Windows through the image model at once: one
            (default) holds the least memory (docs/deployment.md);
            ``None``: all of an image's, as the PyTorch path.
        image_model: Another image model file to run in place of the
            folder's (e.g. a quantised copy); it must take the same inputs.
        keep_text_encoder: Keep the text encoder loaded between class
            lists; by default it is loaded to embed a list and let go, so
            that it does not hold memory while images are segmented.

    Raises:
        FileNotFoundError: the folder or one of its files is missing.
        ValueError: a manifest or an ONNX file that is not this export's,
            or that do not match each other.
    """

    ops = NUMPY

    def __init__(self,
                 model_dir: str,
                 threads: int = 0,
                 graph_optimization: str = 'all',
                 providers: Sequence[str] = ('CPUExecutionProvider', ),
                 windows_per_batch: Optional[int] = 1,
                 image_model: Optional[str] = None,
                 keep_text_encoder: bool = False):
        import onnxruntime
        self.model_dir = model_dir
        manifest = load_manifest(model_dir)
        self.manifest = manifest
        where = osp.join(model_dir, MANIFEST)

        def field(keys):
            return manifest_field(manifest, where, keys)

        self.export_id = field('export_id')
        self.embed_dims = int(field('embed_dims'))
        self.resize_rule = field('image.resize')
        self.channel_order = field('image.channel_order')
        self.mean = np.asarray(field('image.mean'), np.float32)
        self.std = np.asarray(field('image.std'), np.float32)
        image = field('image')
        self.crop = tuple(int(s) for s in image.get('window', ()))
        self.stride = tuple(int(s) for s in image.get('stride', ()))
        if len(self.crop) != 2 or len(self.stride) != 2:
            raise ValueError(f'{where}: "image.window" and "image.stride" '
                             'must be [height, width]; export again')
        self.context_length = int(field('text.context_length'))
        self.templates = field('text.templates') or TEMPLATES
        self.model_classes = field('model_classes')
        self.seen_score_shift = float(field('model_classes.seen_score_shift'))
        self.class_lists = manifest.get('class_lists') or {}
        self.palettes = {
            tuple(p['classes']): np.asarray(p['colours'], np.uint8)
            for p in manifest.get('palettes') or ()
        }
        self.windows_per_batch = windows_per_batch
        if graph_optimization not in GRAPH_OPTIMIZATION:
            raise ValueError(
                f'graph_optimization {graph_optimization!r}: choose '
                f'{", ".join(GRAPH_OPTIMIZATION)}')
        levels = onnxruntime.GraphOptimizationLevel
        self._options = onnxruntime.SessionOptions()
        self._options.graph_optimization_level = dict(
            all=levels.ORT_ENABLE_ALL,
            extended=levels.ORT_ENABLE_EXTENDED,
            basic=levels.ORT_ENABLE_BASIC,
            disabled=levels.ORT_DISABLE_ALL)[graph_optimization]
        if threads:
            self._options.intra_op_num_threads = int(threads)
        self._providers = tuple(providers)
        files = field('files')
        self.image_model_path = image_model or osp.join(
            model_dir, field('files.image_model'))
        self._image = _session(self.image_model_path, 'image_model',
                               self.export_id, self._options, self._providers)
        self._check_image_model()
        self._text = None
        self.keep_text_encoder = keep_text_encoder
        self.text_encoder_path = (
            osp.join(model_dir, files['text_encoder'])
            if files.get('text_encoder') else None)
        self._tokenizer = None
        self.vocabulary = osp.join(model_dir, field('files.vocabulary'))
        self.font_file = (
            osp.join(model_dir, files['font']) if files.get('font') else None)
        self._fixed = self._fixed_classes(manifest.get('fixed_classes'))
        self._cache: Tuple[Any, Optional[np.ndarray]] = (None, None)
        self._embeddings = self._shift = None

    # ------------------------------------------------------------ loading
    def _check_image_model(self) -> None:
        inputs = {i.name: _shape(i) for i in self._image.get_inputs()}
        outputs = [o.name for o in self._image.get_outputs()]
        expected = {
            'window': [None, 3, *self.crop],
            'class_embeddings': [None, self.embed_dims],
            'score_shift': [None]
        }
        if set(inputs) != set(expected) or outputs != ['scores']:
            raise ValueError(
                f'{self.image_model_path} takes {sorted(inputs)} and gives '
                f'{outputs}; the image model of an export takes '
                f'{sorted(expected)} and gives [\'scores\']')
        for name, shape in expected.items():
            if inputs[name] != shape:
                raise ValueError(
                    f'{self.image_model_path} takes {name} of shape '
                    f'{inputs[name]}, but {MANIFEST} describes '
                    f'{shape} (window {self.crop[0]}x{self.crop[1]}, '
                    f'embed_dims {self.embed_dims}): the files do not '
                    'belong together; copy one export\'s folder whole')

    def _text_session(self) -> Any:
        """The text encoder's session, loaded at first use."""
        if self._text is None:
            self._text = _session(self.text_encoder_path, 'text_encoder',
                                  self.export_id, self._options,
                                  self._providers)
            inputs = {i.name: _shape(i) for i in self._text.get_inputs()}
            outputs = {o.name: _shape(o) for o in self._text.get_outputs()}
            if (inputs != {
                    'tokens': [None, self.context_length]
            } or outputs != {
                    'embeddings': [None, self.embed_dims]
            }):
                raise ValueError(
                    f'{self.text_encoder_path} maps {inputs} to {outputs}; '
                    f'{MANIFEST} describes tokens [N, {self.context_length}]'
                    f' to embeddings [N, {self.embed_dims}]: the files do '
                    'not belong together; copy one export\'s folder whole')
        return self._text

    def _fixed_classes(
        self, fixed: Optional[dict]
    ) -> Optional[Tuple[List[str], List[str], np.ndarray]]:
        if not fixed:
            return None
        path = osp.join(self.model_dir, fixed['embeddings'])
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} is missing: copy the whole '
                                    'model folder that tools/export_onnx.py '
                                    'wrote')
        embeddings = np.load(path).astype(np.float32)
        names = list(fixed['names'])
        if embeddings.shape != (len(names), self.embed_dims):
            raise ValueError(
                f'{path} holds embeddings of shape {embeddings.shape}; '
                f'{MANIFEST} lists {len(names)} fixed classes of '
                f'{self.embed_dims} dimensions: export again')
        return names, list(fixed['templates']), embeddings

    @property
    def fixed_class_names(self) -> Optional[List[str]]:
        """The class list whose embeddings the folder stores, if any."""
        return None if self._fixed is None else list(self._fixed[0])

    # ---------------------------------------------------------- the text
    def tokenizer(self) -> ClipTokenizer:
        """The CLIP tokenizer of the folder's vocabulary (loaded once)."""
        if self._tokenizer is None:
            if not osp.isfile(self.vocabulary):
                raise FileNotFoundError(
                    f'{self.vocabulary} is missing: copy the whole model '
                    'folder that tools/export_onnx.py wrote')
            self._tokenizer = ClipTokenizer(self.vocabulary)
        return self._tokenizer

    def class_embeddings(self,
                         class_names: Sequence[str],
                         templates: Templates = None) -> np.ndarray:
        """``(K, C)`` float32 embeddings of the classes: the folder's stored
        ones for its fixed class list (unless other ``templates`` are
        asked for), else the text encoder's, computed once per list.

        Args:
            class_names: The classes.
            templates: ``'multi'``, ``'single'`` or a list of templates;
                default ``'multi'``, or the fixed list's templates for that
                list.
        """
        names = [str(n) for n in class_names]
        check_class_names(names)
        fixed = self._fixed
        if fixed is not None and names == fixed[0] and (
                templates is None
                or resolve_templates(templates, self.templates) == fixed[1]):
            return fixed[2]
        templates = resolve_templates(templates or 'multi', self.templates)
        key = (tuple(names), tuple(templates))
        if self._cache[0] == key:
            return self._cache[1]
        if self.text_encoder_path is None:
            raise ValueError(
                f'{self.model_dir} has no text encoder: it segments into '
                f'its fixed classes {fixed[0] if fixed else []} with their '
                f'templates only; export with the text encoder for other '
                'names')
        prompts = [t.format(name) for name in names for t in templates]
        try:
            tokens = self.tokenizer()(prompts, self.context_length)
        except TextTooLongError as err:
            name = names[err.index // len(templates)]
            shown = name if len(name) <= 60 else name[:57] + '...'
            template = templates[err.index % len(templates)]
            raise ValueError(
                f'class name {shown!r} is too long: {err.length} tokens in '
                f'the prompt {template!r} with the start and end tokens, '
                f'the text encoder reads {self.context_length}; shorten '
                'the name') from err
        session = self._text_session()
        embeddings = np.concatenate([
            session.run(None, {'tokens': tokens[i:i + PROMPTS_PER_RUN]})[0]
            for i in range(0, len(tokens), PROMPTS_PER_RUN)
        ])
        if not self.keep_text_encoder:
            self._text = session = None
        embeddings = embeddings.reshape(len(names), len(templates), -1)
        embeddings = _normalise_rows(embeddings.mean(axis=1))
        self._cache = (key, embeddings)
        return embeddings

    # --------------------------------------------------------- the image
    def score_shift(self, class_names: Names,
                    unseen: Names = ()) -> np.ndarray:
        """``(K,)`` float32: the model's seen-class shift on every class
        but ``unseen``."""
        return score_shift(class_names, unseen, self.seen_score_shift)

    def use_classes(self, class_names: List[str], templates: Templates,
                    unseen: Sequence[str]) -> None:
        self._embeddings = self.class_embeddings(class_names, templates)
        self._shift = self.score_shift(class_names, unseen)

    def prepare(self, image: np.ndarray,
                source: str) -> Tuple[np.ndarray, Padding]:
        size = resized_size(*image.shape[:2], self.resize_rule)
        if size[0] < self.crop[0] or size[1] < self.crop[1]:
            raise ValueError(
                f'{source} is {size[0]}x{size[1]} after the test resize, '
                f'smaller than the model\'s {self.crop[0]}x{self.crop[1]} '
                'window; the ONNX image model takes whole windows: use a '
                'larger image, or PyTorch (tools/infer.py)')
        inputs = normalise(
            resize_uint8(image, *size), self.mean, self.std,
            self.channel_order)
        return inputs, (0, 0, 0, 0)

    def window_scores(self, windows: np.ndarray) -> np.ndarray:
        """The image model: ``(N, 3, h, w)`` normalised windows -> ``(N, K,
        h, w)`` calibrated scores of the classes of :meth:`use_classes`."""
        return self.run_image_model(windows, self._embeddings, self._shift)

    def run_image_model(self, windows: np.ndarray, embeddings: np.ndarray,
                        shift: np.ndarray) -> np.ndarray:
        """The image model on ``(N, 3, h, w)`` windows, ``(K, C)`` class
        embeddings and a ``(K,)`` score shift."""
        return self._image.run(
            None,
            dict(
                window=np.ascontiguousarray(windows, np.float32),
                class_embeddings=np.ascontiguousarray(embeddings, np.float32),
                score_shift=np.ascontiguousarray(shift, np.float32)))[0]

    def font(self, texts: Sequence[str]) -> Optional[str]:
        return self.font_file


class OnnxSegmenter(Segmenter):
    """An exported Cascade-CLIP that segments images into any class names
    (``OnnxSegmenter(folder)(image, names)``; the arguments are
    :class:`OnnxBackend`'s)."""

    def __init__(self, model_dir: str, **options):
        super().__init__(OnnxBackend(model_dir, **options))

    @property
    def class_lists(self) -> dict:
        """The named class lists the folder's manifest holds."""
        return self.backend.class_lists

    @property
    def fixed_class_names(self) -> Optional[List[str]]:
        return self.backend.fixed_class_names

    def class_embeddings(
            self,
            class_names: Sequence[str],
            templates: Union[str, Sequence[str], None] = None) -> np.ndarray:
        """See :meth:`OnnxBackend.class_embeddings`."""
        return self.backend.class_embeddings(class_names, templates)

    def score_shift(self, class_names: Names,
                    unseen: Names = ()) -> np.ndarray:
        """See :meth:`OnnxBackend.score_shift`."""
        return self.backend.score_shift(class_names, unseen)
