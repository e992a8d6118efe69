"""The model folder that ``tools/export_onnx.py`` writes, named once: its
files, the manifest's format, the keys in each ONNX file's metadata, and
reading the manifest with an error that names what is wrong."""
import json
import os.path as osp
from typing import Any, Dict

MANIFEST = 'manifest.json'
IMAGE_MODEL = 'image_model.onnx'
TEXT_ENCODER = 'text_encoder.onnx'
VOCABULARY = 'bpe_simple_vocab_16e6.txt.gz'
FONT = 'DejaVuSans.ttf'
CLASS_EMBEDDINGS = 'class_embeddings.npy'
FORMAT = 'cascade_clip.onnx'
FORMAT_VERSION = 1
# Written into each ONNX file's metadata: which part of which export it is.
ROLE_KEY = 'cascade_clip.role'
EXPORT_ID_KEY = 'cascade_clip.export_id'


def load_manifest(model_dir: str) -> Dict[str, Any]:
    """The manifest of a model folder, checked to be this format's.

    Raises:
        FileNotFoundError: no folder, or no manifest in it.
        ValueError: not JSON, not this format, or another format version.
    """
    path = osp.join(model_dir, MANIFEST)
    if not osp.isdir(model_dir):
        raise FileNotFoundError(f'model folder not found: {model_dir}')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{model_dir} has no {MANIFEST}: it is not a folder written by '
            'tools/export_onnx.py')
    try:
        with open(path, encoding='utf-8') as f:
            manifest = json.load(f)
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f'{path} is not valid JSON: {err}') from err
    if not isinstance(manifest, dict) or manifest.get('format') != FORMAT:
        raise ValueError(
            f'{path} is not the manifest of a cascade_clip ONNX export (no '
            f'"format": "{FORMAT}"); export the model with '
            'tools/export_onnx.py')
    version = manifest.get('format_version')
    if version != FORMAT_VERSION:
        raise ValueError(
            f'{path} has format_version {version!r}; this runtime reads '
            f'version {FORMAT_VERSION}: use the runtime of the package '
            'version that exported it, or export again')
    return manifest


def manifest_field(manifest: Dict[str, Any], path: str, keys: str) -> Any:
    """``manifest[k1][k2]...`` for ``keys`` ``'k1.k2'``; a missing key is
    an error that names it and the file ``path``."""
    value = manifest
    for key in keys.split('.'):
        if not isinstance(value, dict) or key not in value:
            raise ValueError(f'{path} lacks "{keys}": the file is damaged '
                             'or not from tools/export_onnx.py; export again')
        value = value[key]
    return value


def manifest_text(manifest: Dict[str, Any]) -> str:
    """The manifest as JSON text: one line per field of the first two
    levels, lists on one line (a class list, a palette)."""
    lines = []
    for key, value in manifest.items():
        if isinstance(value, dict) and value:
            items = [
                f'  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}'
                for k, v in value.items()
            ]
            text = '{\n' + ',\n'.join(items) + '\n }'
        elif isinstance(value, list) and value:
            items = [f'  {json.dumps(v, ensure_ascii=False)}' for v in value]
            text = '[\n' + ',\n'.join(items) + '\n ]'
        else:
            text = json.dumps(value, ensure_ascii=False)
        lines.append(f' {json.dumps(key)}: {text}')
    return '{\n' + ',\n'.join(lines) + '\n}\n'
