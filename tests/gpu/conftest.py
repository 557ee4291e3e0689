"""Fixtures of the CUDA tests (tests/gpu): strict fp32 on the GPU, and the SR search tests' tiny photo pairs."""
from tests.gpu.cuda_helpers import strict_fp32  # noqa: F401  (autouse fixture)
from tests.sr_search.conftest import one_torch_thread, tiny_sr_data  # noqa: F401  (fixtures)
