"""Progress of a long step: a live bar on a terminal, one plain line every N iterations anywhere else.

A tqdm bar redraws itself with carriage returns; sent to a log file, CI or ``nohup`` it becomes a wall of
frames. So :func:`track` draws the bar only when its stream is a terminal and otherwise writes a line such
as ``search epoch 2/10: 40/100 (40%) | l_pix 0.0312 | lr 5e-04 | 2.41 it/s | eta 0:00:25`` every
``every`` iterations and once at the end. ``SRNAS_PROGRESS=bar|lines|off`` overrides the detection.
"""
import os
import sys
import time

MODES = ('bar', 'lines', 'off')
LINES_PER_STEP = 10  # without an explicit interval: about ten lines over the whole step,
MIN_SECONDS = 2.0    # at least this far apart


def is_terminal(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def progress_mode(stream=None):
    """'bar' on a terminal, else 'lines'; the environment variable SRNAS_PROGRESS wins when set."""
    forced = os.environ.get('SRNAS_PROGRESS', '').strip().lower()
    if forced in MODES:
        return forced
    return 'bar' if is_terminal(sys.stderr if stream is None else stream) else 'lines'


def format_duration(seconds):
    """H:MM:SS (hours unbounded), as BasicSR and tqdm print durations."""
    seconds = max(int(round(seconds)), 0)
    return f'{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}'


def format_status(status):
    """``l_pix 0.0312 | lr 5e-04`` from {name: value}; the learning rate goes last, in %.0e."""
    parts = [f'{k} {v:.4g}' for k, v in status.items() if k != 'lr' and isinstance(v, (int, float))]
    line = ', '.join(parts)
    if isinstance(status.get('lr'), (int, float)):
        line = (line + ' | ' if line else '') + f"lr {status['lr']:.1e}"
    return line


def progress_line(desc, done, total, elapsed, status=None):
    """One progress line: iteration (of total), the caller's numbers, it/s and the ETA (when total is known)."""
    rate = done / elapsed if elapsed > 0 else 0.0
    parts = [f'{desc}: {done}/{total} ({100 * done / total:.0f}%)' if total else f'{desc}: {done}']
    numbers = format_status(status or {})
    if numbers:
        parts.append(numbers)
    parts.append(f'{rate:.2f} it/s' if rate >= 0.1 else f'{elapsed / max(done, 1):.1f} s/it')
    if total:
        remaining = (total - done) / rate if rate > 0 else 0.0
        parts.append(f'eta {format_duration(remaining)}' if done < total else f'took {format_duration(elapsed)}')
    return ' | '.join(parts)


def track(iterable, desc, total=None, every=None, status=None, write=None, stream=None, mode=None):
    """Yield the items of ``iterable`` while reporting progress.

    ``total``: number of items (default ``len(iterable)`` when it has one); ``every``: iterations between
    two lines (default: about ten lines per step, at least MIN_SECONDS apart); ``status``: a callable returning {name: number} shown
    on each line (losses, ``lr``); ``write``: where lines go (default: print to ``stream``, stderr).
    """
    stream = sys.stderr if stream is None else stream
    mode = mode or progress_mode(stream)
    if total is None and hasattr(iterable, '__len__'):
        total = len(iterable)
    if mode == 'off':
        yield from iterable
        return
    if mode == 'bar':
        yield from _bar(iterable, desc, total, status, stream)
        return
    write = write or (lambda line: print(line, file=stream, flush=True))
    # the default interval also waits MIN_SECONDS between lines, so a quick step prints only its last line
    min_seconds = 0.0 if every else MIN_SECONDS
    every = every or max((total or 100) // LINES_PER_STEP, 1)
    start = last = time.time()
    done = reported = 0
    for item in iterable:
        yield item
        done += 1
        now = time.time()
        if done == total or (done % every == 0 and now - last >= min_seconds):
            write(progress_line(desc, done, total, now - start, status() if status else None))
            last, reported = now, done
    if done != reported:  # an iterable of unknown or shorter length: still end with a line
        write(progress_line(desc, done, total, time.time() - start, status() if status else None))


def _bar(iterable, desc, total, status, stream):
    from tqdm import tqdm
    bar = tqdm(iterable, desc=desc, total=total, leave=False, file=stream, dynamic_ncols=True)
    try:
        for item in bar:
            yield item
            if status:
                bar.set_postfix_str(format_status(status()), refresh=False)
    finally:
        bar.close()


class TrackedLoader:
    """A data loader seen through :func:`track`: iterating it reports progress; ``dataset`` and ``len`` pass
    through, so code written for a DataLoader (BasicSR's ``validation``) takes it unchanged."""

    def __init__(self, loader, desc, **track_kwargs):
        self.loader, self.desc, self.kwargs = loader, desc, track_kwargs
        self.dataset = loader.dataset

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        return track(self.loader, self.desc, total=len(self.loader), **self.kwargs)
