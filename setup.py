#!/usr/bin/env python
"""Install mmseem.  ``pip install .`` (a regular install) copies configs and
tools into ``mmseem/.mim`` so that ``mim train mmseem <config>`` and
``mim test mmseem <config>`` work from any directory."""
import os
import os.path as osp
import platform
import shutil
import sys
import warnings

from setuptools import find_packages, setup


def readme():
    with open('README.md', encoding='utf-8') as f:
        return f.read()


def get_version():
    scope = {}
    with open(osp.join('mmseem', 'version.py')) as f:
        exec(compile(f.read(), 'mmseem/version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname):
    """Read requirement lines, dropping comments and ``-r``/``-c`` lines."""
    reqs = []
    if not osp.exists(fname):
        return reqs
    with open(fname) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-'):
                reqs.append(line)
    return reqs


def add_mim_extension():
    """Copy (install) or symlink (develop) configs/tools into mmseem/.mim."""
    if 'develop' in sys.argv:
        mode = 'symlink' if platform.system() != 'Windows' else 'copy'
    elif any(a in sys.argv for a in ('sdist', 'bdist_wheel', 'install',
                                       'build', 'build_py', 'egg_info')):
        mode = 'copy'
    else:
        return
    filenames = ['tools', 'configs', 'model-index.yml']
    repo_path = osp.dirname(__file__)
    mim_path = osp.join(repo_path, 'mmseem', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for filename in filenames:
        if not osp.exists(filename):
            continue
        src_path = osp.join(repo_path, filename)
        tar_path = osp.join(mim_path, filename)
        if osp.isfile(tar_path) or osp.islink(tar_path):
            os.remove(tar_path)
        elif osp.isdir(tar_path):
            shutil.rmtree(tar_path)
        if mode == 'symlink':
            os.symlink(osp.relpath(src_path, osp.dirname(tar_path)), tar_path)
        elif osp.isfile(src_path):
            shutil.copyfile(src_path, tar_path)
        elif osp.isdir(src_path):
            shutil.copytree(src_path, tar_path,
                            ignore=shutil.ignore_patterns('__pycache__'))
        else:
            warnings.warn(f'Cannot copy file {src_path}.')


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmseem',
        version=get_version(),
        description='SEEM (Segment Everything Everywhere All at Once) '
        'as an OpenMMLab plugin',
        long_description=readme(),
        long_description_content_type='text/markdown',
        keywords='computer vision, segmentation, interactive, referring, '
        'open vocabulary, SEEM, OpenMMLab',
        packages=find_packages(exclude=('configs', 'tools', 'demo', 'tests')),
        include_package_data=True,
        python_requires='>=3.8',
        license='Apache License 2.0',
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require={
            'tests': parse_requirements('requirements/tests.txt'),
            'mim': parse_requirements('requirements/mminstall.txt'),
            'optional': parse_requirements('requirements/optional.txt'),
        },
        zip_safe=False)
