from setuptools import find_packages, setup

setup(
    name='srnas',
    version='0.1.0',
    description='Differentiable architecture search for lightweight super-resolution (SA/SAC-DARTS, A2M) on BasicSR',
    packages=find_packages(include=['srnas', 'srnas.*', 'classification', 'classification.*']),
    package_data={'srnas': ['data/meta_info/*.txt']},
    python_requires='>=3.9',
    install_requires=[
        'torch>=2.0,<3',
        'torchvision>=0.15',
        'basicsr>=1.4.2,<1.5',
        'kornia>=0.7',
        'scikit-image>=0.21',
        'opencv-python>=4.5',
        'thop>=0.1.1.post2209072238',
        'pyyaml>=6.0',
        'numpy>=1.23',
        'tqdm>=4.60',
        'matplotlib>=3.6',
        'tensorboard>=2.10',
        'lmdb>=1.0',
        'scikit-learn>=1.0',  # classification: the embedded digits data set
    ],
    extras_require={
        'test': ['pytest>=7.0', 'hypothesis>=6.80', 'onnx>=1.14', 'onnxruntime>=1.16'],
        'export': ['onnx>=1.14', 'onnxruntime>=1.16'],
    },
    entry_points={'console_scripts': ['srnas=srnas.cli:main']},
)
