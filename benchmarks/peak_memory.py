"""Peak resident memory of one measurement, for the benchmarks that run each measurement in a fresh process.

``tracemalloc`` does not see torch's allocations, and ``getrusage``'s ru_maxrss
cannot be reset; Linux (>= 4.0) lets a process reset its own peak-RSS mark
(VmHWM) to the current RSS by writing 5 to /proc/self/clear_refs.
"""


def status_kb(field: str) -> int:
    """A ``kB`` field of /proc/self/status (VmRSS, VmHWM, ...)."""
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'{field} not in /proc/self/status')


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS; False where the kernel does not allow it."""
    try:
        with open('/proc/self/clear_refs', 'w') as handle:
            handle.write('5')
        return True
    except OSError:
        return False


class PeakMemory:
    """``with PeakMemory() as peak: ...`` then ``peak.extra_mb``: the peak RSS inside the block minus the RSS
    at its start (MiB)."""

    def __enter__(self):
        self.start_mb = status_kb('VmRSS') / 1024.0
        if not reset_peak_rss():
            raise RuntimeError('cannot reset the peak RSS (/proc/self/clear_refs): peak memory would be wrong')
        return self

    def __exit__(self, *exc):
        self.extra_mb = status_kb('VmHWM') / 1024.0 - self.start_mb
        return False


class CudaPeakMemory:
    """The same interface on a CUDA device: the caching allocator's peak inside the block minus what was
    allocated at its start (MiB; the process RSS says nothing about GPU memory)."""

    def __init__(self, device):
        self.device = device

    def __enter__(self):
        import torch
        torch.cuda.synchronize(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        self.start_mb = torch.cuda.memory_allocated(self.device) / 2 ** 20
        return self

    def __exit__(self, *exc):
        import torch
        torch.cuda.synchronize(self.device)
        self.extra_mb = torch.cuda.max_memory_allocated(self.device) / 2 ** 20 - self.start_mb
        return False
