"""CPU-safe replacement for ``basicsr.train.load_resume_state``.

BasicSR 1.4.2 maps the resume state onto ``torch.cuda.current_device()``, which fails on a
machine without CUDA; it also looks for ``experiments/<name>`` relative to the working
directory instead of the run's root. This version maps to CPU unless the run uses GPUs,
searches under ``opt['root_path']`` and skips a newest ``.state`` that cannot be read (a run
killed while writing it), falling back to the previous one.
"""
from os import path as osp
from pathlib import Path

import torch

from srnas.basicsr_compat import import_basicsr

import_basicsr()
from basicsr.utils import check_resume, get_root_logger  # noqa: E402


def _map_location(opt):
    if opt.get('num_gpu', 0) and torch.cuda.is_available():
        device_id = torch.cuda.current_device()
        return lambda storage, loc: storage.cuda(device_id)
    return 'cpu'


def _state_candidates(states_dir):
    """``.state`` files newest first, as (iteration, path)."""
    return sorted(((int(path.stem), str(path)) for path in Path(states_dir).glob('*.state') if path.stem.isdigit()),
                  reverse=True)


def load_resume_state(opt):
    """Return the resume state dict (or None) and point ``pretrain_network_*`` at the matching weights."""
    candidates = []
    if opt.get('auto_resume'):
        states_dir = osp.join(opt.get('root_path', '.'), 'experiments', opt['name'], 'training_states')
        if osp.isdir(states_dir):
            candidates = _state_candidates(states_dir)
    elif opt['path'].get('resume_state'):
        candidates = [(None, opt['path']['resume_state'])]
    for iteration, state_path in candidates:
        try:
            state = torch.load(state_path, map_location=_map_location(opt))
        except Exception as exc:  # truncated by an interruption: try the previous checkpoint
            if iteration is None:
                raise
            get_root_logger().warning(f'skipping unreadable training state {state_path}: {exc}')
            continue
        opt['path']['resume_state'] = state_path
        check_resume(opt, state['iter'])
        return state
    return None
