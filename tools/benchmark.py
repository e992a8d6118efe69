"""Inference images/s and training iterations/s of a config's model.

    python tools/benchmark.py CONFIG [CHECKPOINT] [--device cpu|cuda] [--amp]
                              [--warmup 100] [--images 200]
                              [--image-size H W] [--train-iters N]
                              [--train-warmup N] [--batch-size B]
                              [--cuda-graph] [--compile] [--throughput N]
                              [--tf32] [--alternate ROUNDS]
                              [--out FILE] [--cfg-options k=v ...]

Inference: the paper's protocol, one image at a time, 100 warm-up images
then 200 timed, sliding windows as the config's test_cfg says, on a random
512 x 683 image (a 4:3 image after the test resize to a 512 short side).
--cuda-graph replays inference from captured CUDA graphs (GPU); --compile
compiles the image encoder with torch.compile (GPU); --throughput N also
times forward passes of N training-size crops at once (windows/s); --tf32
lets float32 matrix products use TF32 tensor cores (GPU; not float32-exact).
Training: train_step with the config's optimizer on random batches of the
training crop. Without a CHECKPOINT the weights are random; timings do not
depend on them. --alternate ROUNDS times float32 and bfloat16 autocast in
turn, ROUNDS times each, and prints one table of both (docs/speed.md).
"""
from cascade_clip.analysis.benchmark import (alternate_precisions, benchmark,
                                             format_alternation,
                                             format_benchmark, write_json)
from cascade_clip.utils.cli import ToolParser, add_cfg_options, run_tool_main


def parse_args():
    parser = ToolParser(description='Benchmark inference and training speed')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        'checkpoint', nargs='?', help='weights (default: random weights)')
    parser.add_argument(
        '--device', help='cpu or cuda[:N] (default: cuda where available)')
    parser.add_argument('--amp', action='store_true', help='bfloat16 autocast')
    parser.add_argument(
        '--warmup', type=int, default=100, help='untimed images first')
    parser.add_argument(
        '--images', type=int, default=200, help='timed images (0: skip)')
    parser.add_argument(
        '--image-size',
        type=int,
        nargs='+',
        default=[512, 683],
        help='test image H W as the model gets it (one value: a square)')
    parser.add_argument(
        '--train-iters',
        type=int,
        default=50,
        help='timed training iterations (0: skip)')
    parser.add_argument(
        '--train-warmup',
        type=int,
        default=10,
        help='untimed training iterations first')
    parser.add_argument(
        '--batch-size',
        type=int,
        help='training batch (default: the config\'s per-GPU batch)')
    parser.add_argument(
        '--cuda-graph',
        action='store_true',
        help='replay inference from captured CUDA graphs (GPU only)')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='torch.compile the image encoder for inference (GPU only)')
    parser.add_argument(
        '--throughput',
        type=int,
        default=0,
        metavar='N',
        help='also time forward passes of N crops at once (windows/s)')
    parser.add_argument(
        '--tf32',
        action='store_true',
        help='float32 matrix products on TF32 tensor cores (GPU only; '
        'outputs are then not float32-exact)')
    parser.add_argument(
        '--alternate',
        type=int,
        default=0,
        metavar='ROUNDS',
        help='time float32 and bfloat16 autocast in turn for ROUNDS rounds '
        'and print one table of both (docs/speed.md)')
    parser.add_argument('--out', help='also write the results as JSON here')
    add_cfg_options(parser)
    args = parser.parse_args()
    if len(args.image_size) not in (1, 2):
        parser.error('--image-size takes H W or one side')
    return args


def main():
    args = parse_args()
    options = dict(
        checkpoint=args.checkpoint,
        device=args.device,
        warmup=args.warmup,
        images=args.images,
        image_size=args.image_size,
        train_iters=args.train_iters,
        train_warmup=args.train_warmup,
        batch_size=args.batch_size,
        cfg_options=args.cfg_options)
    if args.alternate:
        result = alternate_precisions(args.config, args.alternate, **options)
        print(format_alternation(result))
    else:
        result = benchmark(
            args.config,
            amp=args.amp,
            cuda_graph=args.cuda_graph,
            compile_backbone=args.compile,
            throughput_windows=args.throughput,
            tf32=args.tf32,
            **options)
        print(format_benchmark(result))
    if args.out:
        write_json(result, args.out)
        print(f'results written to {args.out}')


if __name__ == '__main__':
    run_tool_main(main)
