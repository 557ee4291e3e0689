"""Kill-anywhere harness: run a real srnas command as a subprocess, SIGKILL it at random moments (some of them
while a checkpoint is being written), resume it, and compare what it ends with to an uninterrupted run.

A ``Kind`` is one kind of run: it writes its data and options into a work folder, names the command (which
always resumes: ``--auto_resume``, or a plain re-run for ``srnas prepare``) and reads back what must come out
the same. ``trial`` runs the reference once, then the same command in a second folder, killed ``kills`` times:
each kill either at a random moment or right after the child announces a rename (``SRNAS_FAULT_PAUSE_BEFORE_RENAME``
makes ``srnas.nas.files.atomic_write`` print ``srnas-fault: renaming <path>`` and wait before renaming), then
left to finish. Any exit other than success or our SIGKILL is a crash and fails the trial.

Used by tests/faults (short, in CI) and benchmarks/kill_anywhere.py (long runs, counts for docs/reliability.md).
"""
import copy
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np

REPO = Path(__file__).resolve().parents[2]
MARKER = 'srnas-fault: renaming '


class TrialFailure(AssertionError):
    pass


@dataclass
class Kind:
    name: str
    setup: Callable[[Path], None]            # writes data + options into the folder
    command: Callable[[Path], List[str]]     # argv, run with cwd = the folder
    outcome: Callable[[Path], Dict]          # what must match the uninterrupted run
    exact: bool = True                       # False: only "finishes, no crash, outputs readable" is claimed
    kill_modes: tuple = ('time', 'write')    # 'write' needs the command to write through srnas.nas.files


@dataclass
class Report:
    kind: str
    kills: int = 0
    kills_during_write: int = 0
    resumes: int = 0
    identical: bool = False
    seconds: float = 0.0
    notes: List[str] = field(default_factory=list)


def _env():
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONPATH=str(REPO))
    env.pop('SRNAS_FAULT_PAUSE_BEFORE_RENAME', None)
    return env


def run_to_end(kind: Kind, folder: Path, timeout=900):
    started = time.time()
    proc = subprocess.run(kind.command(folder), cwd=folder, env=_env(), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise TrialFailure(f'{kind.name}: run in {folder} exited {proc.returncode}:\n{proc.stderr[-3000:]}')
    return time.time() - started


def _killed_run(kind: Kind, folder: Path, kill_at: float, on_marker: int, pause: float):
    """One child; SIGKILL at ``kill_at`` s, or right after its ``on_marker``-th rename announcement (if > 0).
    Returns (killed, killed during a write, returncode, stderr tail)."""
    env = dict(_env(), SRNAS_FAULT_PAUSE_BEFORE_RENAME=str(pause))
    proc = subprocess.Popen(kind.command(folder), cwd=folder, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen, tail, during_write = [0], [], threading.Event()

    def read():
        for line in proc.stderr:
            tail.append(line)
            del tail[:-40]
            if line.startswith(MARKER):
                seen[0] += 1
                if on_marker and seen[0] == on_marker:
                    during_write.set()
                    os.killpg(proc.pid, signal.SIGKILL)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=None if on_marker else kill_at)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    reader.join(timeout=10)
    killed = proc.returncode == -signal.SIGKILL
    return killed, killed and during_write.is_set(), proc.returncode, ''.join(tail)


def trial(kind: Kind, root: Path, kills: int, seed: int = 0, pause: float = 0.2, reference=None,
          modes=None) -> Report:
    """Reference run (unless ``reference`` = (outcome, seconds) is given), then a run killed ``kills`` times,
    each kill 'time' (at a random moment) or 'write' (after a random one of the first rename announcements),
    as ``modes`` lists them or else drawn from ``kind.kill_modes``."""
    rng = random.Random(seed)
    report = Report(kind.name)
    started = time.time()
    if reference is None:
        ref_dir = root / f'{kind.name}_reference'
        ref_dir.mkdir(parents=True, exist_ok=True)
        kind.setup(ref_dir)
        duration = run_to_end(kind, ref_dir)
        reference = (kind.outcome(ref_dir), duration)
    expected, duration = reference
    if expected is None:
        raise TrialFailure(f'{kind.name}: the reference run produced nothing')
    report.reference = reference
    work = root / f'{kind.name}_killed_{seed}'
    work.mkdir(parents=True, exist_ok=True)
    kind.setup(work)
    finished = False
    for index in range(kills):
        during_write = (modes[index] if modes else rng.choice(kind.kill_modes)) == 'write'
        killed, in_write, code, tail = _killed_run(kind, work, kill_at=rng.uniform(0.2, 1.0) * duration,
                                                   on_marker=rng.randint(1, 4) if during_write else 0, pause=pause)
        if not killed:
            if code != 0:
                raise TrialFailure(f'{kind.name}: resumed run crashed (exit {code}) in {work}:\n{tail[-3000:]}')
            finished = True
            break
        report.kills += 1
        report.kills_during_write += int(in_write)
        report.resumes += 1
    if not finished:
        run_to_end(kind, work)
    got = kind.outcome(work)
    report.identical = _same(expected, got)
    if kind.exact and not report.identical:
        raise TrialFailure(f'{kind.name}: after {report.kills} kills the result differs from the uninterrupted run '
                           f'({_first_difference(expected, got)}); folder {work}')
    report.seconds = time.time() - started
    return report


def _same(a, b) -> bool:
    return _first_difference(a, b) is None


def _first_difference(a, b, where='') -> str:
    import torch
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f'{where or "top"}: keys {sorted(set(a) ^ set(b))[:5]} differ'
        for key in a:
            found = _first_difference(a[key], b[key], f'{where}.{key}' if where else str(key))
            if found:
                return found
        return None
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        same = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
        return None if same else f'{where}: tensors differ'
    return None if a == b else f'{where}: {str(a)[:80]} != {str(b)[:80]}'


# ---------------------------------------------------------------------------------------------- kinds of run
def _photo_pairs(folder: Path, photos, scale=2, size=48):
    """x2 HR/LR crops of scikit-image's sample photos (BGR PNGs, LR by MATLAB-style bicubic)."""
    import cv2
    import skimage.data

    from srnas.basicsr_compat import import_basicsr
    import_basicsr()  # BasicSR 1.4.2 needs srnas' torchvision shim before any of its imports
    from basicsr.utils.matlab_functions import imresize
    for sub in ('GT', 'LR'):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for name in photos:
        img = getattr(skimage.data, name)()
        img = img[:, :, :3] if img.ndim == 3 else np.repeat(img[:, :, None], 3, axis=2)
        top, left = img.shape[0] // 3, img.shape[1] // 3
        hr = np.ascontiguousarray(img[top:top + size, left:left + size, ::-1])
        lr = imresize(hr.astype(np.float64) / 255.0, 1 / scale)
        cv2.imwrite(str(folder / 'GT' / f'{name}.png'), hr)
        cv2.imwrite(str(folder / 'LR' / f'{name}.png'), np.clip(lr * 255.0 + 0.5, 0, 255).astype(np.uint8))


def _write_yaml(data, path: Path):
    import yaml
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _search_outcome(run_dir: Path):
    import json

    import torch

    from srnas.nas.search_loop import latest_checkpoint
    genotype_file = run_dir / 'genotype.json'
    if not genotype_file.is_file():
        return None
    state = torch.load(latest_checkpoint(run_dir), map_location='cpu', weights_only=False)
    log = json.loads((run_dir / 'search_log.json').read_text())
    return {'genotype': json.loads(genotype_file.read_text())['genotype'], 'model': state['model'],
            'alphas': state['architect']['alphas'],
            'losses': [entry['losses'] for entry in log['epochs']],
            'interrupted_writes_left': sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob('.*')),
            'softmax': [entry['softmax'] for entry in log['epochs']]}


def sr_search_kind(total_iter=12, iters_per_epoch=4, every=2, architect=None) -> Kind:
    from tests.sr_search.sr_helpers import TINY_IMDN, search_options

    def setup(folder):
        _photo_pairs(folder / 'data' / 'train', ['astronaut', 'coffee'])
        _photo_pairs(folder / 'data' / 'arch', ['chelsea', 'rocket'])
        opt = search_options(folder / 'data', 'faults_sr', TINY_IMDN,
                             copy.deepcopy(architect or {'type': 'first_order', 'regularizers': [{'type': 'sa'}]}),
                             total_iter=total_iter, iters_per_epoch=iters_per_epoch)
        opt['search'].update({'checkpoint_every_iters': every, 'keep_checkpoints': 3, 'plot': False})
        _write_yaml(opt, folder / 'search.yml')

    return Kind('sr_search', setup,
                lambda folder: [sys.executable, '-m', 'srnas', 'search', '-opt', 'search.yml', '--auto_resume',
                                '--threads', '1', '--quiet', '--root', str(folder)],
                lambda folder: _search_outcome(folder / 'experiments' / 'faults_sr'))


def _classification_options(folder, command, epochs, steps, extra=None, train_extra=None):
    opt = {'name': f'faults_{command}', 'manual_seed': 0, 'num_gpu': 0, 'threads': 1, 'output_root': str(folder),
           'data': {'name': 'digits', 'image_size': 8, 'batch_size': 4, 'eval_batch_size': 16, 'subset': 24},
           'train': {'epochs': epochs, 'max_steps_per_epoch': steps, **(train_extra or {})}}
    opt.update(extra or {})
    _write_yaml(opt, folder / f'{command}.yml')


def _run_dir(folder, name):
    found = sorted(p for p in folder.rglob('genotype.json') if name in str(p))
    return found[0].parent if found else None


def classification_search_kind(epochs=4, steps=4, every=2) -> Kind:
    def setup(folder):
        _classification_options(folder, 'search', epochs, steps, {
            'space': {'type': 'nb201', 'channels': 4, 'cells_per_stage': 1},
            'architect': {'type': 'first_order'},
            'search': {'checkpoint_every_iters': every}})

    def outcome(folder):
        run_dir = _run_dir(folder, 'faults_search')
        return _search_outcome(run_dir) if run_dir else None

    return Kind('classification_search', setup,
                lambda folder: [sys.executable, '-m', 'classification', 'search', '-opt', 'search.yml',
                                '--auto_resume'], outcome)


def classification_train_kind(epochs=4, steps=3, every=2) -> Kind:
    def setup(folder):
        cell = '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|none~2|'
        _classification_options(folder, 'train', epochs, steps, train_extra={'checkpoint_every_iters': every},
                                extra={'space': {'type': 'nb201', 'channels': 4, 'cells_per_stage': 1}, 'genotype': cell})

    def outcome(folder):
        import json

        import torch
        found = sorted(folder.rglob('model_final.pth'))
        if not found:
            return None
        return {'model': torch.load(found[0], map_location='cpu', weights_only=False)['model'],
                'result': json.loads((found[0].parent / 'result.json').read_text())}

    return Kind('classification_train', setup,
                lambda folder: [sys.executable, '-m', 'classification', 'train', '-opt', 'train.yml',
                                '--auto_resume'], outcome)


def prepare_kind(images=3, size=200) -> Kind:
    """``srnas prepare div2k`` on a few crops of the sample photos; resuming is simply running it again."""
    def setup(folder):
        import cv2
        import skimage.data
        (folder / 'hr').mkdir(parents=True, exist_ok=True)
        for index, name in enumerate(['astronaut', 'coffee', 'chelsea', 'rocket'][:images]):
            img = getattr(skimage.data, name)()[:size, :size, :3]
            cv2.imwrite(str(folder / 'hr' / f'{index + 1:04d}.png'), np.ascontiguousarray(img[:, :, ::-1]))

    def outcome(folder):
        out = folder / 'out'
        if not (out / 'meta_info_DIV2K_train_HR_sub.txt').is_file():
            return None
        return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob('*')) if p.is_file()}

    return Kind('prepare_div2k', setup,
                lambda folder: [sys.executable, '-m', 'srnas', 'prepare', 'div2k', '-i', 'hr', '-o', 'out',
                                '--crop', '96', '--step', '48', '--scales', '2', '3'], outcome)


def sr_train_kind(total_iter=30, every=5) -> Kind:
    """``srnas train`` (BasicSR's pipeline and its own torch.save checkpoints) with ``--auto_resume``. BasicSR
    restarts the interrupted epoch's data order on resume, so only "finishes without a crash" is claimed."""
    from tests.foundation.helpers import train_options

    def setup(folder):
        _photo_pairs(folder / 'data' / 'train', ['astronaut', 'coffee', 'chelsea'])
        _photo_pairs(folder / 'data' / 'val', ['rocket'])
        data = folder / 'data'
        opt = train_options(data / 'train' / 'GT', data / 'train' / 'LR', data / 'val' / 'GT', data / 'val' / 'LR',
                            name='faults_train', total_iter=total_iter)
        opt['logger']['save_checkpoint_freq'] = every
        _write_yaml(opt, folder / 'train.yml')

    def outcome(folder):
        import torch
        models = folder / 'experiments' / 'faults_train' / 'models'
        final = models / 'net_g_latest.pth'  # BasicSR's save at the end of training
        if not final.is_file():
            return None
        return {'final': final.name, 'weights': torch.load(final, map_location='cpu', weights_only=False)}

    return Kind('sr_train', setup,
                lambda folder: [sys.executable, '-m', 'srnas', 'train', '-opt', 'train.yml', '--auto_resume',
                                '--root', str(folder)], outcome, exact=False, kill_modes=('time',))


KINDS = {'sr_train': sr_train_kind, 'sr_search': sr_search_kind, 'classification_search': classification_search_kind,
         'classification_train': classification_train_kind, 'prepare_div2k': prepare_kind}
