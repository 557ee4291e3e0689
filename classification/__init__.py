"""Differentiable NAS on classification: the DARTS and NAS-Bench-201 spaces on CIFAR, ImageNet16-120 and ImageNet.

Reuses the task-agnostic NAS core in ``srnas.nas`` (mixed ops, architects,
regularisers); this package brings the spaces, data and training loops.
Run ``python -m classification -h``.
"""
