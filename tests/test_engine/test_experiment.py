"""The runner a training or test config gets."""
from mmengine.runner import Runner
from tools_helpers import VOC_INDUCTIVE

from cascade_clip.engine.console import BriefConsoleRunner
from cascade_clip.engine.experiment import build_runner, train_config


def test_runner_type_is_honoured_with_ours_the_default(tmp_path):
    kinds = {}
    for name, options in (('default', {}), ('mmengine',
                                            dict(runner_type='Runner')),
                          ('ours', dict(runner_type='BriefConsoleRunner'))):
        cfg = train_config(
            VOC_INDUCTIVE,
            work_dir=str(tmp_path / name),
            cfg_options=dict(options, **{'model.pretrained': None}))
        kinds[name] = type(build_runner(cfg))
    assert kinds == dict(
        default=BriefConsoleRunner, mmengine=Runner, ours=BriefConsoleRunner)


def test_brief_false_gives_mmengines_runner(tmp_path):
    cfg = train_config(
        VOC_INDUCTIVE,
        work_dir=str(tmp_path),
        cfg_options={'model.pretrained': None})
    assert type(build_runner(cfg, brief=False)) is Runner
