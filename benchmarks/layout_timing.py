"""Per-call CPU time of one forward + backward, for the layout micro-benchmarks (bn_layout.py, conv_layout.py)."""
import time


def forward_backward_microseconds(forward, grad, calls, warmup):
    """Process CPU time of ``forward().backward(grad)`` per call (us), after ``warmup`` untimed calls."""
    for _ in range(warmup):
        forward().backward(grad)
    start = time.process_time()
    for _ in range(calls):
        forward().backward(grad)
    return (time.process_time() - start) / calls * 1e6
