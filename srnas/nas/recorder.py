"""Per-epoch record of softmax(alpha), the derived genotype and the validation loss.

Feeds the "beta per op vs epoch" plot (SA-DARTS Fig. 2), the epoch at which
the derived genotype stopped changing, and early stopping with the
best-validation-loss genotype (A2M protocol: stop once
``epoch - best_epoch > patience``, patience 10).
"""
import itertools
from typing import Any, Dict, List, Optional

import torch

from srnas.nas.errors import NASConfigError
from srnas.nas.files import atomic_write, read_mapping, write_mapping


def top2_margins(probs) -> List[float]:
    """Top-1 minus top-2 softmax value of every row (position/edge) of ``probs`` (a row or nested rows):
    how clearly the argmax that derives the child wins; 0 means a tie decided by noise."""
    rows = torch.as_tensor(probs, dtype=torch.float64)
    rows = rows.reshape(-1, rows.shape[-1])
    if rows.shape[-1] < 2:
        raise ValueError(f'top2_margins needs at least two candidates per row, got {rows.shape[-1]}')
    top = rows.topk(2, dim=-1).values
    return (top[:, 0] - top[:, 1]).tolist()


class AlphaRecorder:
    """Collects one entry per epoch: ``{epoch, probs: {name: nested lists}, genotype, val_loss}``."""

    def __init__(self, op_names: Optional[Dict[str, Optional[List[str]]]] = None):
        self.entries: List[Dict[str, Any]] = []
        self.op_names = dict(op_names or {})

    def record(self, epoch: int, model=None, probs: Optional[Dict[str, torch.Tensor]] = None,
               genotype: Any = None, val_loss: Optional[float] = None) -> None:
        """Record softmax(alpha) of ``model`` (last axis) or the given ``probs`` at ``epoch``."""
        if (model is None) == (probs is None):
            raise ValueError('AlphaRecorder.record needs exactly one of model or probs')
        if model is not None:
            probs = {name: torch.softmax(p.detach(), dim=-1) for name, p in model.named_arch_parameters()}
            for name, names in model.arch_op_names().items():
                self.op_names.setdefault(name, names)
        if self.entries and epoch <= self.entries[-1]['epoch']:
            raise ValueError(f'epochs must increase: got {epoch} after {self.entries[-1]["epoch"]}')
        self.entries.append({'epoch': epoch,
                             'probs': {name: t.detach().cpu().tolist() for name, t in probs.items()},
                             'genotype': genotype,
                             'val_loss': None if val_loss is None else float(val_loss)})

    # ------------------------------------------------------------------------------------------
    def series(self, name: str, row: Optional[int] = 0):
        """(epochs, [probabilities per epoch]) for one arch parameter (one row of it)."""
        if not self.entries:
            raise NASConfigError('the alpha record is empty')
        if name not in self.entries[0]['probs']:
            raise NASConfigError(f"no arch parameter '{name}' in the record; have {sorted(self.entries[0]['probs'])}")
        epochs, values = [], []
        for entry in self.entries:
            value = entry['probs'][name]
            if row is not None and value and isinstance(value[0], list):
                value = value[row]
            epochs.append(entry['epoch'])
            values.append(value)
        return epochs, values

    def genotype_stable_since(self) -> Optional[int]:
        """First epoch from which the recorded genotype equals the final one (None if never recorded)."""
        recorded = [e for e in self.entries if e['genotype'] is not None]
        if not recorded:
            return None
        final = recorded[-1]['genotype']
        return list(itertools.takewhile(lambda e: e['genotype'] == final, reversed(recorded)))[-1]['epoch']

    def best_by_val_loss(self) -> Optional[Dict[str, Any]]:
        """The entry with the lowest validation loss (earliest on ties), or None."""
        scored = [e for e in self.entries if e['val_loss'] is not None]
        return min(scored, key=lambda e: e['val_loss']) if scored else None

    def should_stop(self, patience: int) -> bool:
        """A2M's rule (reference code): stop once ``last_epoch - best_epoch > patience``."""
        best = self.best_by_val_loss()
        if best is None:
            return False
        return self.entries[-1]['epoch'] - best['epoch'] > patience

    # ------------------------------------------------------------------------------------------
    def plot(self, path, name: str, row: int = 0, title: Optional[str] = None):
        """PNG of each candidate's softmax weight vs epoch for one row (edge / position) of ``name``."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        epochs, values = self.series(name, row)
        labels = self.op_names.get(name) or [f'op{i}' for i in range(len(values[0]))]
        figure = Figure(figsize=(6, 4), dpi=100)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot(1, 1, 1)
        for index, label in enumerate(labels):
            axes.plot(epochs, [v[index] for v in values], marker='.', label=label)
        axes.set_xlabel('epoch')
        axes.set_ylabel('softmax(alpha)')
        axes.set_title(title or f'{name}[{row}]')
        axes.legend(fontsize='small', ncol=2)
        figure.tight_layout()
        return atomic_write(path, lambda tmp: figure.savefig(tmp, format='png'))

    def save(self, path):
        return write_mapping(path, {'op_names': self.op_names, 'entries': self.entries})

    @classmethod
    def load(cls, path) -> 'AlphaRecorder':
        data = read_mapping(path, what='alpha record')
        if not isinstance(data.get('entries'), list):
            raise NASConfigError(f"alpha record {path} has no 'entries' list")
        recorder = cls(data.get('op_names'))
        recorder.entries = data['entries']
        return recorder
