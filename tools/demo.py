"""Zero-shot segmentation that visibly works, with nothing to download.

    python tools/demo.py [--out work_dirs/demo] [--iters 2000] [--seed 0]
                         [--transductive-iters 500] [--config CONFIG]

In a synthetic world of 20 classes, each a colour and a shape ("red
circle"), 5 of them unseen: trains Cascade-CLIP on the 15 seen classes'
masks with a tiny CLIP pre-trained on captions of all 20 (shipped; made by
tools/pretrain_tiny_clip.py), evaluates on all 20, and evaluates again as a
control with the unseen classes' text embeddings replaced by random unit
vectors. Prints both (mIoU(S), mIoU(U), hIoU) and writes pictures of
unseen shapes segmented and named, a per-class IoU chart and an
open-vocabulary inference example into --out. --transductive-iters adds
the transductive step (self-training with pseudo-labels for the unseen
classes) from the trained model. --config with the shapes21 config trains
the web demo's model, whose background is a class (docs/web_demo.md).
"""

from cascade_clip.synthetic.demo import SHAPES_CONFIG, format_results, run_demo
from cascade_clip.synthetic.pretrain import SHIPPED_WEIGHTS
from cascade_clip.utils.cli import ToolParser, run_tool_main

NOTICE = ('A synthetic world: 64x64 scenes of coloured shapes, a tiny CLIP '
          'pre-trained on their captions. The numbers show that training '
          'learns and that the unseen classes are found through their text '
          'embeddings; they are not Cascade-CLIP\'s results on real '
          'benchmarks.')


def main():
    parser = ToolParser.from_docstring(__doc__)
    parser.add_argument('--out', default='work_dirs/demo', help='folder')
    parser.add_argument(
        '--iters',
        type=int,
        default=2000,
        help='training iterations (default %(default)s)')
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='training seed (default %(default)s)')
    parser.add_argument(
        '--lr', type=float, help='base learning rate (default: the config\'s)')
    parser.add_argument(
        '--num-train',
        type=int,
        default=2000,
        help='training scenes (default %(default)s)')
    parser.add_argument(
        '--num-val',
        type=int,
        default=200,
        help='validation scenes (default %(default)s)')
    parser.add_argument(
        '--transductive-iters',
        type=int,
        default=0,
        help='iterations of a transductive step after training (0: none)')
    parser.add_argument('--num-pictures', type=int, default=4)
    parser.add_argument(
        '--clip',
        default=SHIPPED_WEIGHTS,
        help='CLIP weights (default: the shipped tiny CLIP)')
    parser.add_argument(
        '--config',
        default=SHAPES_CONFIG,
        help='the shapes config (default %(default)s; the web demo\'s model: '
        'shapes/cascade-clip_tiny_1xb16-2k_shapes21-64x64_inductive.py, '
        'the background a class)')
    args = parser.parse_args()
    print(NOTICE, flush=True)
    result = run_demo(
        args.out,
        iters=args.iters,
        seed=args.seed,
        num_train=args.num_train,
        num_val=args.num_val,
        num_pictures=args.num_pictures,
        clip=args.clip,
        lr=args.lr,
        config=args.config,
        transductive_iters=args.transductive_iters,
        log=None)
    print('\n' + format_results(result))
    print(f'\ntrained in {result.seconds:.0f} s; wrote:')
    for path in [result.checkpoint, result.chart] + result.pictures:
        if path:
            print(f'  {path}')
    if result.infer:
        print(f'  {result.infer["mask"]}\n  {result.infer["overlay"]}')


if __name__ == '__main__':
    run_tool_main(main)
