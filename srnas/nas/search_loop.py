"""The one bi-level search loop of srnas: every task (SR, classification) runs through ``run_search``.

A task is a small adapter (``SearchTask``): it owns its supernet, data,
losses and weight optimizer; the loop owns everything else, written once:

* seeding: python/numpy/torch reseeded at every epoch from ``(seed, epoch)``
  (``epoch_seed``), data order drawn from its own stream, so a run resumed
  from an epoch checkpoint replays exactly what an uninterrupted run does;
* per step: one alpha step on an architecture batch (skipped during the
  architect's warm-up) and one weight step on a training batch, in the order
  ``alpha_first`` (DARTS) or ``weights_first`` (DLSR); after the weight step
  the alpha gradients the weight loss left behind are cleared, so alpha moves
  only by the architect;
* per epoch: the task's evaluation, the derived genotype, softmax(alpha) in the
  ``AlphaRecorder``, the mean alpha-gradient norm of every loss term, one log
  line, the top-1 minus top-2 softmax margin of every row of ``alpha``,
  ``search_log.json`` + ``metrics.jsonl`` + ``alpha_history.json``,
  TensorBoard, the genotype file, plots and an atomic checkpoint;
* every ``checkpoint_every_iters`` iterations (option) a mid-epoch checkpoint
  too, holding the step's RNG states and running means: resumed, the epoch
  re-draws its data order, skips the batches already used and goes on exactly
  (``srnas.nas.checkpoints``: names, rotation, format, fingerprint, fallback);
* non-finite losses/gradients caught at their step and skipped, rolled back
  or raised (``nonfinite``, ``srnas.nas.numerics``);
* early stopping (A2M: stop once ``epoch - best_epoch > patience``) and the
  choice of the final genotype (``last`` or ``best_val_loss``).
"""
import abc
import dataclasses
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

import torch

from srnas.nas import checkpoints as ckpt
from srnas.nas import distributed
from srnas.nas.errors import NASConfigError
from srnas.nas.files import atomic_write_text, write_mapping
from srnas.nas.genotype import save_genotype
from srnas.nas.numerics import NONFINITE_POLICIES, NumericGuard, RollBack, weight_fault
from srnas.nas.precision import MixedPrecision
from srnas.nas.recorder import AlphaRecorder, top2_margins

ORDERS = ('alpha_first', 'weights_first')
SELECTS = ('last', 'best_val_loss')
PLOTS = ('epoch', 'end', 'off')
CHECKPOINT_GLOB = ckpt.CHECKPOINT_GLOB
CHECKPOINT_FORMAT = ckpt.CHECKPOINT_FORMAT


def epoch_seed(seed: int, epoch: int, stream: int = 0) -> int:
    """The seed of one random stream (0: global generators, 1: weight data, 2: alpha data) of one epoch."""
    return (seed * 1_000_003 + epoch * 7_919 + stream * 104_729) % (2 ** 31)


def seed_everything(seed: int) -> None:
    import numpy as np
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def latest_checkpoint(out_dir) -> Optional[Path]:
    found = resume_candidates(out_dir)
    return found[0] if found else None


def resume_candidates(out_dir) -> List[Path]:
    """The checkpoints of a search folder, newest first (``run_search(resume=...)`` falls back along them)."""
    return ckpt.checkpoints_newest_first(Path(out_dir, 'checkpoints'))


class SearchTask(abc.ABC):
    """What a task gives the loop. Attributes set by the adapter before ``run_search``:

    ``space`` (the registered space name, written into the genotype file),
    ``model`` (a ``SupernetMixin`` supernet), ``architect`` (an ``Architect``),
    ``weight_optimizer`` and ``grad_clip`` (max norm of the weight gradient, or None).
    """
    space: str
    model: Any
    architect: Any
    weight_optimizer: torch.optim.Optimizer
    grad_clip: Optional[float] = None
    ddp_model: Any = None  # set by the loop under torchrun: ``model`` in DistributedDataParallel

    def net(self):
        """The module ``weight_loss`` must call: under torchrun the DDP wrapper (its backward averages the
        weight gradients over the ranks), else ``model``."""
        return self.model if self.ddp_model is None else self.ddp_model

    @abc.abstractmethod
    def train_batches(self, epoch: int, seed: int) -> Iterable:
        """The weight batches of ``epoch`` (its length is the epoch's number of steps), ordered by ``seed``."""

    @abc.abstractmethod
    def arch_batches(self, epoch: int, seed: int) -> Iterator:
        """An iterator giving at least one architecture batch per step of ``epoch``."""

    @abc.abstractmethod
    def weight_loss(self, batch) -> Tuple[torch.Tensor, Dict[str, float]]:
        """The weight loss on ``batch`` (graph kept) and floats to average over the epoch for the log."""

    def after_weight_step(self, iteration: int) -> None:
        """Per-iteration hook (SR: BasicSR's per-iteration learning-rate schedule)."""

    def end_epoch(self, epoch: int) -> None:
        """Per-epoch hook (classification: the cosine learning-rate schedule)."""

    def evaluate(self, epoch: int) -> Dict[str, Any]:
        """Flat metrics added to the epoch's log entry; ``valid_loss`` (if given) drives selection/stopping."""
        return {}

    def genotype(self):
        return self.model.genotype()

    def genotype_json(self, genotype) -> Any:
        """The genotype as plain JSON for the genotype file (default: unchanged)."""
        return genotype

    def genotype_log(self, genotype) -> Any:
        """The genotype as logged every epoch and compared for stability (default: its JSON form)."""
        return self.genotype_json(genotype)

    def genotype_meta(self, genotype_json) -> Dict[str, Any]:
        """Extra fields written next to a genotype in the genotype file (e.g. a benchmark's accuracy)."""
        return {}

    def learning_rate(self) -> float:
        return self.weight_optimizer.param_groups[0]['lr']

    def state_dict(self) -> Dict[str, Any]:
        """What the task needs on resume besides the model and the architect (default: weight optimizer)."""
        return {'weight_optimizer': self.weight_optimizer.state_dict()}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.weight_optimizer.load_state_dict(state['weight_optimizer'])

    def epoch_state(self) -> Dict[str, Any]:
        """Running sums the task keeps within an epoch (saved in mid-epoch checkpoints)."""
        return {}

    def load_epoch_state(self, state: Dict[str, Any]) -> None:
        """Restore ``epoch_state`` after ``train_batches`` started the resumed epoch."""

    def fingerprint(self) -> Dict[str, Any]:
        """What a checkpoint cannot be resumed under a change of (extend with scale, network options...)."""
        return {'space': self.space, 'architect': getattr(self.architect, 'kind', None),
                'arch_shapes': {name: list(p.shape) for name, p in self.model.named_arch_parameters()},
                'weight_shapes': {name: list(t.shape) for name, t in self.model.state_dict().items()}}


@dataclass
class LoopOptions:
    """How the loop runs; every field is one YAML option of the task adapters."""
    epochs: int
    out_dir: Path
    seed: int = 0
    order: str = 'alpha_first'                      # alpha_first (DARTS) | weights_first (DLSR)
    select: str = 'last'                            # last | best_val_loss (A2M)
    early_stopping_patience: Optional[int] = None   # A2M: 10
    keep_checkpoints: int = 2
    checkpoint_every_iters: Optional[int] = None    # also checkpoint mid-epoch every N iterations
    nonfinite: str = 'skip'                         # skip | rollback | raise (srnas.nas.numerics)
    plot: str = 'end'                               # epoch | end | off
    amp: str = 'none'                               # none | bf16 | fp16 (CUDA): srnas.nas.precision
    compile: bool = False                           # torch.compile the supernet (docs/benchmarks.md)
    tensorboard_dir: Optional[Path] = None
    progress: bool = False
    log_every: Optional[int] = None                 # progress lines off a terminal: steps between two lines
    log: Callable[[str], None] = print
    warn: Optional[Callable[[str], None]] = None    # resumes, fallbacks, non-finite steps (default: log)
    name: str = 'search'
    summary: Dict[str, Any] = field(default_factory=dict)   # extra top-level fields of search_log.json

    def warning(self, line: str) -> None:
        (self.warn or self.log)(line)

    def check(self):
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise NASConfigError(f'search: the number of epochs must be a positive integer, got {self.epochs!r}')
        for key, value, allowed in (('order', self.order, ORDERS), ('select', self.select, SELECTS),
                                    ('plot', self.plot, PLOTS), ('nonfinite', self.nonfinite, NONFINITE_POLICIES)):
            if value not in allowed:
                raise NASConfigError(f'search.{key} must be one of {list(allowed)}, got {value!r}')
        if not isinstance(self.compile, bool):
            raise NASConfigError(f'search.compile must be true or false, got {self.compile!r}')
        patience = self.early_stopping_patience
        if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int) or patience < 0):
            raise NASConfigError(f'search.early_stopping_patience must be null or an integer >= 0, got {patience!r}')
        keep = self.keep_checkpoints
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise NASConfigError(f'search.keep_checkpoints must be an integer >= 1, got {keep!r}')
        every = self.checkpoint_every_iters
        if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
            raise NASConfigError(f'search.checkpoint_every_iters must be null or an integer >= 1, got {every!r}')


class _EpochMeans:
    """Running means of named floats over the steps of an epoch."""

    def __init__(self):
        self.sums, self.counts = {}, {}

    def add(self, values: Dict[str, float]):
        for key, value in values.items():
            self.sums[key] = self.sums.get(key, 0.0) + float(value)
            self.counts[key] = self.counts.get(key, 0) + 1

    def means(self) -> Dict[str, float]:
        return {key: self.sums[key] / self.counts[key] for key in self.sums}

    def state(self):
        return {'sums': dict(self.sums), 'counts': dict(self.counts)}

    def load(self, state):
        self.sums, self.counts = dict(state['sums']), dict(state['counts'])
        return self


def _weight_step(task: SearchTask, batch, means: _EpochMeans, guard: NumericGuard, iteration: int, epoch: int,
                 amp: MixedPrecision):
    task.weight_optimizer.zero_grad(set_to_none=True)
    with amp.autocast():
        loss, logs = task.weight_loss(batch)
    amp.backward(loss)
    # the architect holds the model's weight and alpha lists: walking every module for them is host time per step
    weights = getattr(task.architect, 'weights', None) or task.model.weights()
    norm = amp.unscale_and_clip(task.weight_optimizer, weights, task.grad_clip)
    # fp16: an overflowing gradient is the scaler's to skip (it lowers the scale), not a fault
    fault = weight_fault(task.model, task.weight_optimizer, loss, norm if amp.mode != 'fp16' else loss.new_zeros(()),
                         logs)
    if fault is None:
        amp.apply(task.weight_optimizer)
        means.add(logs)
    else:
        task.weight_optimizer.zero_grad(set_to_none=True)
        amp.skip()
    # The weight loss also filled alpha's .grad: alpha must move only by the architect.
    for alpha in getattr(task.architect, 'alphas', None) or task.model.arch_parameters():
        alpha.grad = None
    if fault is not None:
        guard.handle(fault, iteration, epoch)


def _alpha_step(task: SearchTask, arch_batch, train_batch, epoch: int, means: _EpochMeans, norms: _EpochMeans,
                guard: NumericGuard, iteration: int, amp: MixedPrecision):
    with amp.autocast():  # a direction with finite differences turns it off again (Direction.amp_safe)
        result = task.architect.step(arch_batch, epoch, train_batch=train_batch)
    if result.get('nonfinite') is not None:
        guard.handle(result['nonfinite'], iteration, epoch)
    if not result.get('updated'):
        return 0
    means.add({'l_arch': result['val_loss'], 'alpha_grad_norm': result['alpha_grad_norm']})
    per_term = getattr(task.architect, 'last_grad_norms', None)
    if isinstance(per_term, dict):
        norms.add(per_term)
    return 1


def _skip(iterator, count: int):
    """Draw and drop the first ``count`` items: the loaders' positions (and their workers') are as after them."""
    for _ in range(count):
        next(iterator)


def _run_epoch(task: SearchTask, epoch: int, opts: LoopOptions, first_iter: int, guard: NumericGuard,
               amp: MixedPrecision, progress: Optional[Dict[str, Any]] = None, save: Optional[Callable] = None):
    """All steps of one epoch; returns (step means, per-term alpha-grad-norm means, alpha steps, steps).

    ``progress`` (from a mid-epoch checkpoint) resumes it after the steps it records; ``save(epoch, step,
    progress)`` is called every ``checkpoint_every_iters`` iterations.
    """
    seed_everything(epoch_seed(opts.seed, epoch) + distributed.rank())  # ranks augment their shares differently
    task.model.train()
    source = task.train_batches(epoch, epoch_seed(opts.seed, epoch, 1))
    batches = iter(source)
    active = task.architect.is_active(epoch)
    arch_iter = iter(task.arch_batches(epoch, epoch_seed(opts.seed, epoch, 2))) if active else None
    means, norms, alpha_steps, steps = _EpochMeans(), _EpochMeans(), 0, 0
    if progress is not None:
        steps, alpha_steps = progress['steps'], progress['alpha_steps']
        _skip(batches, steps)
        if arch_iter is not None:
            _skip(arch_iter, progress['arch_batches'])
        means.load(progress['means'])
        norms.load(progress['norms'])
        task.load_epoch_state(progress['task'])
        ckpt.set_rng_state(progress['rng'])
    arch_batches = progress['arch_batches'] if progress is not None else 0
    if opts.progress:  # a bar on a terminal, else a line every log_every steps (srnas.utils.progress)
        from srnas.utils.progress import track
        batches = track(batches, f'search epoch {epoch + 1}/{opts.epochs}', every=opts.log_every, write=opts.log,
                        total=len(source) - steps if hasattr(source, '__len__') else None,
                        status=lambda: {**means.means(), 'lr': task.learning_rate()})
    # the architect's step_order (DLSR reference: weights_first) or the loop option decide
    weights_first = 'weights_first' in (opts.order, getattr(task.architect, 'step_order', None))
    every = opts.checkpoint_every_iters
    for train_batch in batches:
        iteration = first_iter + steps + 1
        if weights_first:
            _weight_step(task, train_batch, means, guard, iteration, epoch, amp)
        if arch_iter is not None:
            arch_batch = next(arch_iter)
            arch_batches += 1
            alpha_steps += _alpha_step(task, arch_batch, train_batch, epoch, means, norms, guard, iteration, amp)
        if not weights_first:
            _weight_step(task, train_batch, means, guard, iteration, epoch, amp)
        steps += 1
        task.after_weight_step(first_iter + steps)
        if save is not None and every and (first_iter + steps) % every == 0:
            save(epoch, steps, {'steps': steps, 'alpha_steps': alpha_steps, 'arch_batches': arch_batches,
                                'means': means.state(), 'norms': norms.state(), 'task': task.epoch_state(),
                                'rng': ckpt.rng_state()})
    task.end_epoch(epoch)
    return means.means(), norms.means(), alpha_steps, steps


def _recorder(task: SearchTask, history: List[Dict[str, Any]]) -> AlphaRecorder:
    recorder = AlphaRecorder(task.model.arch_op_names())
    for entry in history:
        probs = {name: torch.tensor(value) for name, value in entry['softmax'].items()}
        recorder.record(entry['epoch'], probs=probs, genotype=entry['genotype'], val_loss=_val_loss(entry))
    return recorder


def _val_loss(entry):
    """The loss that selects the best epoch: the task's validation loss, else the architect's (alpha split)."""
    value = entry.get('valid_loss')
    return value if value is not None else entry['losses'].get('l_arch')


def _selected(recorder: AlphaRecorder, select: str):
    if select == 'best_val_loss' and recorder.best_by_val_loss() is not None:
        return recorder.best_by_val_loss()['epoch']
    return recorder.entries[-1]['epoch']


def _log_line(entry, epochs):
    parts = [f"epoch {entry['epoch'] + 1}/{epochs}:"]
    parts.append(', '.join(f'{k} {v:.4g}' for k, v in entry['losses'].items()) or 'alpha frozen')
    metrics = {k: v for k, v in entry.items() if k in ('valid_loss', 'valid_top1') and v is not None}
    if metrics:
        parts.append('| ' + ', '.join(f'{k} {v:.4g}' for k, v in metrics.items()))
    if entry['alpha_grad_norms']:
        parts.append('| alpha grad norms ' + ', '.join(f'{k} {v:.3g}' for k, v in entry['alpha_grad_norms'].items()))
    parts.append(f"| {entry['seconds']:.1f}s | genotype {json.dumps(entry['genotype'])}")
    if entry.get('top2_margin'):
        parts.append('(top-2 margins ' + ' '.join(f'{m:.3f}' for m in entry['top2_margin']) + ')')
    return ' '.join(parts)


def _search_eta(epoch_seconds, epochs_left):
    """`` | eta H:MM:SS`` of the whole search from the mean epoch time so far (nothing after the last epoch)."""
    if not epochs_left:
        return ''
    from srnas.utils.progress import format_duration
    return f' | search eta {format_duration(sum(epoch_seconds) / len(epoch_seconds) * epochs_left)}'


def _tensorboard(writer, entry):
    step = entry['epoch']
    for key, value in entry['losses'].items():
        writer.add_scalar(f'losses/{key}', value, step)
    for key, value in entry['alpha_grad_norms'].items():
        writer.add_scalar(f'alpha_grad_norms/{key}', value, step)
    for key in ('valid_loss', 'valid_top1'):
        if entry.get(key) is not None:
            writer.add_scalar(f'valid/{key}', entry[key], step)
    for name, probs in entry['softmax'].items():
        rows = probs if probs and isinstance(probs[0], list) else [probs]
        for r, row in enumerate(rows):
            tag = f'softmax_{name}_{r + 1}' if len(rows) > 1 else f'softmax_{name}'
            for i, p in enumerate(row):
                writer.add_scalar(f'{tag}/{i}', p, step)
    writer.add_text('genotype', json.dumps(entry['genotype']), step)


def plot_alphas(recorder: AlphaRecorder, out_dir) -> List[Path]:
    """One PNG per row (position / edge) of every arch parameter: softmax weight of each candidate vs epoch."""
    paths = []
    for name, value in recorder.entries[-1]['probs'].items():
        rows = len(value) if value and isinstance(value[0], list) else 1
        for row in range(rows):
            label = f'{name}_{row + 1}' if rows > 1 else name
            title = f'softmax({name}) of row {row + 1}' if rows > 1 else f'softmax({name})'
            paths.append(recorder.plot(Path(out_dir) / f'{label}.png', name, row, title=title))
    return paths


class _Outputs:
    """Files of a search folder, rewritten whole after every epoch (so a resumed run never duplicates lines)."""

    def __init__(self, task: SearchTask, opts: LoopOptions):
        self.task, self.opts = task, opts
        self.dir = Path(opts.out_dir)
        self.log_file = self.dir / 'search_log.json'
        self.genotype_file = self.dir / 'genotype.json'
        self.writer = None
        if opts.tensorboard_dir is not None and distributed.is_main():
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(log_dir=str(opts.tensorboard_dir))

    def write(self, history, recorder, genotypes, entry):
        if not distributed.is_main():
            return
        opts = self.opts
        stable = recorder.genotype_stable_since()
        write_mapping(self.log_file, {'name': opts.name, 'space': self.task.space, **opts.summary,
                                      'epochs_planned': opts.epochs, 'stable_since_epoch': stable,
                                      'epochs': history})
        atomic_write_text(self.dir / 'metrics.jsonl', ''.join(json.dumps(e) + '\n' for e in history))
        recorder.save(self.dir / 'alpha_history.json')
        self.write_genotype(recorder, genotypes)
        if self.writer is not None:
            _tensorboard(self.writer, entry)

    def write_genotype(self, recorder, genotypes):
        chosen = _selected(recorder, self.opts.select)
        genotype = genotypes[str(chosen)]
        if distributed.is_main():
            save_genotype(self.task.space, genotype, self.genotype_file, epoch=chosen, selected_by=self.opts.select,
                          stable_since_epoch=recorder.genotype_stable_since(), **self.task.genotype_meta(genotype))
        return chosen, genotype

    def close(self):
        if self.writer is not None:
            self.writer.close()


def _fingerprint(task, opts):
    """The task's fingerprint plus the seed: another seed draws other batches, so it is another run."""
    return {**task.fingerprint(), 'seed': opts.seed}


def _save_checkpoint(task, opts, epoch, history, genotypes, amp, step=None, progress=None):
    """End of ``epoch`` (``step`` None) or ``step`` steps into it, with that epoch's ``progress``; rank 0 only."""
    if not distributed.is_main():
        return None
    state = {'epoch': epoch, 'space': task.space, 'fingerprint': _fingerprint(task, opts),
             'model': task.model.state_dict(), 'architect': task.architect.state_dict(),
             'task': task.state_dict(), 'history': history, 'genotypes': genotypes, 'amp': amp.state_dict()}
    if progress is not None:
        state['progress'] = progress
    return ckpt.save_rotating(state, Path(opts.out_dir) / 'checkpoints', epoch, step, opts.keep_checkpoints)


def _apply_checkpoint(task, state, amp):
    """Load a checked checkpoint into ``task``; returns (epoch to run, history, genotypes, mid-epoch progress)."""
    task.model.load_state_dict(state['model'])
    task.architect.load_state_dict(state['architect'])
    task.load_state_dict(state['task'])
    amp.load_state_dict(state.get('amp'))
    progress = state.get('progress')
    next_epoch = state['epoch'] if progress is not None else state['epoch'] + 1
    return next_epoch, list(state['history']), dict(state['genotypes']), progress


def _resume(task, opts, resume, amp):
    """``resume``: one checkpoint path (its problems are errors) or a list of candidates, newest first
    (``--auto_resume``: an unusable one is reported and the previous one tried; rank 0 sets it aside)."""
    candidates = list(resume) if isinstance(resume, (list, tuple)) else [] if resume is None else [resume]
    if not candidates:
        return 0, [], {}, None
    path, loaded = ckpt.load_first_usable(candidates, _fingerprint(task, opts),
                                          lambda state: _apply_checkpoint(task, state, amp), opts.warning,
                                          set_aside=isinstance(resume, (list, tuple)) and distributed.is_main())
    epoch, history, genotypes, progress = loaded
    where = f"step {progress['steps']} of epoch {epoch + 1}" if progress else f'epoch {epoch + 1}'
    opts.warning(f'resumed from {path} at {where}')
    return loaded


def _stop_early(recorder: AlphaRecorder, patience: Optional[int]) -> bool:
    return patience is not None and recorder.should_stop(patience)


def run_search(task: SearchTask, opts: LoopOptions, resume=None) -> Dict[str, Any]:
    """Run (or continue) a search; returns the chosen genotype and the outputs.

    ``resume``: None, a checkpoint path, or a list of checkpoint paths newest first (``resume_candidates``),
    of which the first usable one is taken.
    """
    opts.check()
    if not distributed.is_main():  # rank 0 alone logs, warns and draws
        opts = dataclasses.replace(opts, log=lambda line: None, warn=lambda line: None, plot='off', progress=False)
    folder = Path(opts.out_dir) / 'checkpoints'
    folder.mkdir(parents=True, exist_ok=True)
    out_dir = Path(opts.out_dir)
    if distributed.is_main():
        for stale in ckpt.remove_stale_temporaries(out_dir, out_dir / 'plots', folder):
            opts.warning(f'removed {stale.name}: a file whose writing was interrupted')
    amp = MixedPrecision(opts.amp, next(task.model.parameters()).device)
    if opts.compile:  # in place: the module, its state_dict and the architect's reference stay the same
        task.model.compile(dynamic=False)
    epoch, history, genotypes, progress = _resume(task, opts, resume, amp)
    if distributed.active():
        task.ddp_model = distributed.wrap(task.model)
        opts.log(f'distributed: {distributed.world_size()} processes, weights in DDP, alpha gradients all-reduced')
    outputs = _Outputs(task, opts)
    recorder = _recorder(task, history)
    guard = NumericGuard(opts.nonfinite, opts.warning, can_roll_back=lambda: bool(resume_candidates(opts.out_dir)))
    plots, stopped = [], False
    session_seconds = []  # wall time of the epochs run by this process, for the ETA

    def save_mid_epoch(at_epoch, step, at_progress):
        _save_checkpoint(task, opts, at_epoch, history, genotypes, amp, step=step, progress=at_progress)

    try:
        while epoch < opts.epochs:
            stopped = _stop_early(recorder, opts.early_stopping_patience)
            if stopped:
                break
            started = time.time()
            steps_done = sum(e['steps'] for e in history)
            try:
                losses, norms, alpha_steps, steps = _run_epoch(task, epoch, opts, steps_done, guard, amp, progress,
                                                               save_mid_epoch)
            except RollBack:
                epoch, history, genotypes, progress = _resume(task, opts, resume_candidates(opts.out_dir), amp)
                recorder = _recorder(task, history)
                continue
            progress = None
            steps_done += steps
            losses = distributed.mean_floats(losses)
            distributed.broadcast_buffers(task.model)
            with amp.autocast():
                metrics = distributed.mean_floats(task.evaluate(epoch))
            genotype = task.genotype()
            genotypes[str(epoch)] = task.genotype_json(genotype)
            distributed.check_agree(genotypes[str(epoch)], f'genotype of epoch {epoch + 1}')
            entry = {'epoch': epoch, 'iter': steps_done, 'steps': steps, 'arch_updated': alpha_steps > 0,
                     'alpha_steps': alpha_steps, 'genotype': task.genotype_log(genotype),
                     'softmax': {name: torch.softmax(p.detach(), -1).cpu().tolist()
                                 for name, p in task.model.named_arch_parameters()},
                     'losses': losses, 'alpha_grad_norms': norms, 'lr': task.learning_rate(), **metrics,
                     'seconds': time.time() - started}
            if 'alpha' in entry['softmax']:  # how clearly each derived op wins: top-1 minus top-2 per row
                entry['top2_margin'] = top2_margins(entry['softmax']['alpha'])
            entry = distributed.from_main(entry)  # one history on every rank: the same stopping decisions
            history.append(entry)
            recorder.record(epoch, probs={k: torch.tensor(v) for k, v in entry['softmax'].items()},
                            genotype=entry['genotype'], val_loss=_val_loss(entry))
            outputs.write(history, recorder, genotypes, entry)
            if opts.plot == 'epoch':
                plots = plot_alphas(recorder, outputs.dir / 'plots')
            _save_checkpoint(task, opts, epoch, history, genotypes, amp)
            session_seconds.append(time.time() - started)
            opts.log(_log_line(entry, opts.epochs) + _search_eta(session_seconds, opts.epochs - epoch - 1))
            epoch += 1
        if stopped:
            opts.log(f'early stopping: the validation loss has not improved for more than '
                     f'{opts.early_stopping_patience} epochs')
    finally:
        outputs.close()
    if not history:
        raise NASConfigError('the search ran no epoch (nothing to search)')
    chosen, genotype = outputs.write_genotype(recorder, genotypes)
    if opts.plot != 'off' and (opts.plot == 'end' or not plots):
        plots = plot_alphas(recorder, outputs.dir / 'plots')
    distributed.barrier()  # rank 0 has written every file before any rank returns
    return {'genotype': genotype, 'selected_epoch': chosen, 'genotype_file': outputs.genotype_file,
            'log_file': outputs.log_file, 'stable_since_epoch': recorder.genotype_stable_since(),
            'epochs': opts.epochs, 'plots': plots, 'history': history, 'output_dir': outputs.dir,
            'recorder': recorder, 'nonfinite': guard.events}
