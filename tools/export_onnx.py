"""Export a trained model as ONNX files for a runtime without PyTorch.

    python tools/export_onnx.py [CONFIG] CHECKPOINT --out DIR
        [--classes "cat,grass,sky" [--templates multi|single]]
        [--no-text-encoder] [--opset N] [--overwrite]
        [--cfg-options k=v ...]

Writes the image model (normalised windows, class embeddings and a
per-class score shift in, calibrated scores out), the text encoder (token
ids in, L2-normalised embeddings out), the tokenizer's vocabulary, the
legend font and manifest.json into DIR; with --classes also the embeddings
of that fixed class list (then --no-text-encoder leaves the text encoder
out). The config is read from the checkpoint unless given (a checkpoint of
the paper's code needs it). Segment with

    python -m cascade_clip_runtime IMAGE --model DIR --classes "cat,grass,sky"

where cascade_clip_runtime is installed or copied without PyTorch
(docs/deployment.md).
"""
from cascade_clip.deploy.export import export_onnx
from cascade_clip.structures import DATASET_CLASSES
from cascade_clip.utils.cli import (ToolParser, add_cfg_options, fail,
                                    run_tool_main)
from cascade_clip_runtime.classes import parse_class_list


def parse_args():
    parser = ToolParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'files',
        nargs='+',
        metavar='[CONFIG] CHECKPOINT',
        help='the checkpoint, after its config if it stores none')
    parser.add_argument('--out', required=True, help='model folder to write')
    parser.add_argument(
        '--classes',
        help='a fixed class list to store the embeddings of: '
        'comma-separated names, a text file or a setting (voc20, ...)')
    parser.add_argument(
        '--templates',
        default='multi',
        choices=['multi', 'single'],
        help='prompt templates of --classes')
    parser.add_argument(
        '--no-text-encoder',
        action='store_true',
        help='leave the text encoder out (needs --classes)')
    parser.add_argument('--opset', type=int, help='ONNX opset')
    parser.add_argument(
        '--overwrite', action='store_true', help='replace an export in --out')
    add_cfg_options(parser)
    args = parser.parse_args()
    if len(args.files) > 2:
        parser.error(f'give [CONFIG] CHECKPOINT, not {len(args.files)} '
                     'files')
    return args


def main():
    args = parse_args()
    config, checkpoint = ([None] + args.files)[-2:]
    classes = (
        parse_class_list(args.classes, DATASET_CLASSES)
        if args.classes is not None else None)
    try:
        result = export_onnx(
            config,
            checkpoint,
            args.out,
            classes=classes,
            templates=args.templates,
            text_encoder=not args.no_text_encoder,
            opset=args.opset,
            cfg_options=args.cfg_options,
            overwrite=args.overwrite)
    except ImportError as err:  # onnx or onnxscript missing
        fail(str(err))
    for name, size in result.files.items():
        took = result.seconds.get(name)
        took = f' (exported in {took:.1f} s)' if took is not None else ''
        size = (f'{size / 2**20:.1f} MiB'
                if size >= 2**20 else f'{size / 2**10:.0f} KiB')
        print(f'wrote {result.out_dir}/{name}: {size}{took}')


if __name__ == '__main__':
    run_tool_main(main)
