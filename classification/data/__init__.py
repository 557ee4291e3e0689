"""Data sets for the classification searches: CIFAR-10/100, ImageNet16-120, ImageNet folders, embedded digits."""
from classification.data.errors import DataError  # noqa: F401
