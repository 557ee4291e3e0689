"""Small helpers for the classification loops: seeding, devices, metrics, atomic saves, logging."""
import json
import logging
import sys
from pathlib import Path

import torch

from classification.options import OptionError, upgrade_deprecated
from srnas.nas.checkpoints import rng_state, set_rng_state  # noqa: F401  (one copy, shared with the search loop)
from srnas.nas.search_loop import epoch_seed, seed_everything


def reseed_loader(loader, seed, epoch):
    """Shuffle order as a function of (seed, epoch) only, so a resumed run sees the same batches."""
    loader.generator.manual_seed(epoch_seed(seed, epoch, stream=1))


def set_threads(threads):
    """``threads``: null keeps torch's default; on a busy CPU 1 thread is often fastest (no OpenMP contention)."""
    if threads is None:
        return
    if not isinstance(threads, int) or threads < 1:
        raise OptionError(f'threads must be null or an int >= 1, got {threads!r}')
    torch.set_num_threads(threads)


def pick_device(num_gpu):
    """``num_gpu`` as in BasicSR: 0 = CPU, >= 1 = CUDA, auto = CUDA where available."""
    if num_gpu in (None, 'auto'):
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if isinstance(num_gpu, bool) or not isinstance(num_gpu, int) or num_gpu < 0:
        raise OptionError(f"num_gpu must be an integer >= 0 or 'auto', got {num_gpu!r}")
    if num_gpu and not torch.cuda.is_available():
        raise OptionError(f'num_gpu is {num_gpu} but CUDA is not available')
    return torch.device('cuda' if num_gpu else 'cpu')


def topk_correct(logits, target, ks=(1, 5)):
    """Number of samples whose label is among the top-k logits, for each k (k capped at the class count)."""
    top = logits.topk(min(max(ks), logits.shape[1]), dim=1).indices
    hits = top.eq(target[:, None])
    return [int(hits[:, :min(k, logits.shape[1])].any(dim=1).sum()) for k in ks]


class MetricsLog:
    """One JSON object per line (append-only, so a crash keeps every finished epoch)."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record):
        with open(self.path, 'a') as handle:
            handle.write(json.dumps(record) + '\n')


def make_logger(output_dir, name):
    logger = logging.getLogger(f'classification.{name}.{id(output_dir)}')
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    fmt = logging.Formatter('%(asctime)s %(message)s', '%H:%M:%S')
    for handler in (logging.StreamHandler(sys.stdout), logging.FileHandler(Path(output_dir) / 'log.txt')):
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    return logger


class RunContext:
    """What every search/train run sets up first: seed, threads, device, output folder, log, metrics."""

    def __init__(self, opt, kind):
        upgrade_deprecated(opt, opt.get('_source', 'options'))
        self.seed = int(opt.get('manual_seed', 0))
        seed_everything(self.seed)
        set_threads(opt.get('threads'))
        self.device = pick_device(opt.get('num_gpu', 'auto'))
        self.out_dir = Path(opt.get('output_root', 'experiments/classification')) / opt['name']
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.log = make_logger(self.out_dir, kind)
        self.metrics = MetricsLog(self.out_dir / 'metrics.jsonl')
