import os.path as osp
import shutil
from setuptools import find_packages, setup
from setuptools.command.build_py import build_py


def read_requirements(path='requirements.txt'):
    with open(path) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def read_version():
    scope = {}
    with open('cascade_clip/version.py') as f:
        exec(f.read(), scope)
    return scope['__version__']


class BuildWithConfigs(build_py):
    """Also copies configs/ into the built package as cascade_clip/configs,
    where cascade_clip.config_files finds it once installed."""

    def run(self):
        super().run()
        if not self.dry_run:
            shutil.copytree(
                'configs',
                osp.join(self.build_lib, 'cascade_clip', 'configs'),
                dirs_exist_ok=True)


setup(
    name='cascade_clip',
    version=read_version(),
    description='Cascade-CLIP (ICML 2024) zero-shot semantic segmentation '
    'for MMSegmentation 1.x',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    # cascade_clip_runtime: inference without PyTorch, which cascade_clip
    # builds on (it also installs alone: pip install ./cascade_clip_runtime)
    packages=find_packages(include=['cascade_clip', 'cascade_clip.*']) +
    ['cascade_clip_runtime'],
    cmdclass={'build_py': BuildWithConfigs},
    package_data={
        'cascade_clip.structures': ['class_lists/*'],
        # the tiny CLIP of the demo, made by tools/pretrain_tiny_clip.py,
        # and the web demo's shapes model, by tools/make_web_demo_model.py
        'cascade_clip.synthetic': ['*.safetensors', '*.pth'],
    },
    install_requires=read_requirements(),
    extras_require={
        # the linters at the versions the tree is clean under (test_lint.py);
        # open_clip, the reference of the parity tests with other CLIPs
        # (tests/test_models/test_open_clip_parity.py)
        'tests': [
            'pytest', 'flake8==7.5.0', 'isort==9.0.2', 'yapf==0.43.0',
            'open-clip-torch==3.3.0'
        ],
        # tools/web_demo.py; Playwright drives a browser in its tests
        'demo': ['gradio>=6', 'playwright'],
        # ONNX export (tools/export_onnx.py) and its runtime; the runtime
        # alone (cascade_clip_runtime) needs onnxruntime, numpy, pillow,
        # ftfy and regex
        'deploy': ['onnx', 'onnxruntime', 'onnxscript'],
    },
)
