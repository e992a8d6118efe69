from setuptools import find_packages, setup


def read_requirements(path='requirements.txt'):
    with open(path) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def read_version():
    scope = {}
    with open('cascade_clip/version.py') as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='cascade_clip',
    version=read_version(),
    description='Cascade-CLIP (ICML 2024) zero-shot semantic segmentation '
    'for MMSegmentation 1.x',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    packages=find_packages(include=['cascade_clip', 'cascade_clip.*']),
    package_data={'cascade_clip.datasets': ['class_lists/*']},
    install_requires=read_requirements(),
    extras_require={'tests': ['pytest']},
)
