"""Convert a checkpoint released with the paper into this project's keys.

    python tools/convert_official_checkpoint.py SRC.pth DST.pth

Unconverted checkpoints also load directly (`load_from`, tools/test.py):
they are detected and converted on load.
"""
from cascade_clip.checkpoint import convert_official_checkpoint
from cascade_clip.utils.cli import ToolParser, run_tool_main


def main():
    parser = ToolParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='checkpoint of the paper\'s code (.pth)')
    parser.add_argument('dst', help='where to write the converted one')
    args = parser.parse_args()
    dropped = convert_official_checkpoint(args.src, args.dst)
    print(f'wrote {args.dst}; dropped {len(dropped)} tensors the model never '
          'uses (decoder self_attn.*, norm1.*, loss empty_weight)')


if __name__ == '__main__':
    run_tool_main(main)
