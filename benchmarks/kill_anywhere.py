"""Kill-anywhere, long version (issue 11): many SIGKILLs on every kind of run, plus corrupt checkpoints.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/kill_anywhere.py --minutes 25 --out benchmarks/results/kill_anywhere.json

For each kind (SR search, classification search, classification training, ``srnas train`` through BasicSR,
``srnas prepare div2k``) one uninterrupted reference run, then trials in turn until the time is up: a fresh
folder, the same command killed ``--kills`` times (at random moments, or right after a random rename
announcement: between a checkpoint's write and its rename), resumed each time, then compared with the reference
(bit-identical where the run is deterministic on CPU). Then corrupt checkpoints: every real checkpoint of the
killed SR search runs truncated at random lengths, overwritten with random bytes, byte-flipped, re-labelled with a
newer format, read back through ``srnas.nas.checkpoints.read_checkpoint`` (counted: clear error / crash / loaded),
and one search resumed with ``--auto_resume`` past a corrupted newest checkpoint. The counts go to ``--out``
(JSON) and are what docs/reliability.md reports.
"""
import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from srnas.nas.files import atomic_write_text  # noqa: E402
from tests.faults import harness  # noqa: E402


def corrupt_reads(checkpoints, cases, seed):
    """Damage copies of real checkpoints ``cases`` times; count how ``read_checkpoint`` answers."""
    import torch

    from srnas.nas import checkpoints as ckpt
    rng = random.Random(seed)
    counts = {}
    scratch = Path(checkpoints[0]).parent.parent / 'corrupt_scratch'
    scratch.mkdir(exist_ok=True)
    for index in range(cases):
        source = Path(rng.choice(checkpoints))
        data = source.read_bytes()
        how = rng.choice(['truncate', 'random_bytes', 'empty', 'flip_byte', 'newer_format', 'foreign_space'])
        target = scratch / f'{index:04d}_{how}.pth'
        if how == 'truncate':
            target.write_bytes(data[:rng.randrange(0, len(data))])
        elif how == 'random_bytes':
            target.write_bytes(rng.randbytes(len(data)))
        elif how == 'empty':
            target.write_bytes(b'')
        elif how == 'flip_byte':
            position = rng.randrange(len(data))
            target.write_bytes(data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1:])
        else:
            state = torch.load(source, map_location='cpu', weights_only=False)
            if how == 'newer_format':
                state['format'] = ckpt.CHECKPOINT_FORMAT + 1
            else:
                state['fingerprint'] = {**state['fingerprint'], 'space': 'another_space'}
            torch.save(state, target)
        if how not in ('newer_format', 'foreign_space'):  # damaged on disk: its checksum file stays as written
            shutil.copy(ckpt.checksum_path(source), ckpt.checksum_path(target))
        fingerprint = torch.load(source, map_location='cpu', weights_only=False)['fingerprint']
        try:
            ckpt.read_checkpoint(target, fingerprint)
            outcome = 'loaded'
        except ckpt.CheckpointError as error:
            outcome = 'clear_error' if str(target) in str(error) else 'error_without_file_name'
        except Exception as error:  # noqa: BLE001  (counted: this is what must never happen)
            outcome = f'crash:{type(error).__name__}'
        key = f'{how}:{outcome}'
        counts[key] = counts.get(key, 0) + 1
        target.unlink()
        ckpt.checksum_path(target).unlink(missing_ok=True)
    shutil.rmtree(scratch)
    return counts


def resume_past_corrupt_newest(root, reference, seed):
    """A search killed once, its newest checkpoint truncated, resumed with --auto_resume: must fall back, finish
    and match the reference. Returns (identical, fell back)."""
    from srnas.nas.search_loop import resume_candidates
    kind = harness.sr_search_kind()
    work = root / f'sr_search_corrupt_{seed}'
    work.mkdir(parents=True, exist_ok=True)
    kind.setup(work)
    # the 15th file written is past the first epoch (5 files) and its mid-epoch checkpoints
    killed, _, code, tail = harness._killed_run(kind, work, kill_at=0, on_marker=15, pause=0.0)
    run_dir = work / 'experiments' / 'faults_sr'
    candidates = resume_candidates(run_dir)
    if not killed or not candidates:
        return None
    newest = candidates[0]
    newest.write_bytes(newest.read_bytes()[:len(newest.read_bytes()) // 3])
    proc = subprocess.run(kind.command(work), cwd=work, env=harness._env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise harness.TrialFailure(f'resume past a corrupt checkpoint crashed:\n{proc.stderr[-2000:]}')
    fell_back = 'falling back to the previous checkpoint' in proc.stdout + proc.stderr
    return harness._same(reference[0], kind.outcome(work)), fell_back


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--minutes', type=float, default=25.0, help='time budget for the kill trials')
    parser.add_argument('--kills', type=int, default=4, help='kills per trial')
    parser.add_argument('--kinds', nargs='+', default=list(harness.KINDS), choices=list(harness.KINDS))
    parser.add_argument('--corrupt_cases', type=int, default=300)
    parser.add_argument('--work', default='/tmp/srnas_kill_anywhere')
    parser.add_argument('--out', default='benchmarks/results/kill_anywhere.json')
    args = parser.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    started = time.time()
    kinds = {name: harness.KINDS[name]() for name in args.kinds}
    references, totals = {}, {}
    for name, kind in kinds.items():
        folder = work / f'{name}_reference'
        folder.mkdir(parents=True)
        kind.setup(folder)
        seconds = harness.run_to_end(kind, folder)
        references[name] = (kind.outcome(folder), seconds)
        totals[name] = {'trials': 0, 'kills': 0, 'kills_during_write': 0, 'resumes': 0, 'identical': 0,
                        'exact_claimed': kind.exact, 'reference_seconds': round(seconds, 1)}
        print(f'{name}: reference run {seconds:.1f}s', flush=True)
    seed = 0
    while time.time() - started < args.minutes * 60:
        for name, kind in kinds.items():
            if time.time() - started >= args.minutes * 60:
                break
            report = harness.trial(kind, work, args.kills, seed=seed, reference=references[name])
            total = totals[name]
            total['trials'] += 1
            for key in ('kills', 'kills_during_write', 'resumes'):
                total[key] += getattr(report, key)
            total['identical'] += int(report.identical)
            print(f'{name} seed {seed}: {report.kills} kills ({report.kills_during_write} during a write), '
                  f'identical {report.identical}, {report.seconds:.0f}s', flush=True)
            shutil.rmtree(work / f'{name}_killed_{seed}', ignore_errors=True)
            atomic_write_text(args.out, json.dumps({'command': ' '.join(sys.argv), 'partial': True,
                                                    'kinds': totals}, indent=2) + '\n')
        seed += 1
    corrupt = {}
    if 'sr_search' in kinds:
        import torch  # noqa: F401  (the reads below)
        folder = work / 'sr_search_reference' / 'experiments' / 'faults_sr' / 'checkpoints'
        corrupt['reads'] = corrupt_reads(sorted(folder.glob('epoch_*.pth')), args.corrupt_cases, seed=0)
        outcome = resume_past_corrupt_newest(work, references['sr_search'], seed=0)
        corrupt['auto_resume_past_truncated_newest'] = (None if outcome is None else
                                                        {'identical': outcome[0], 'fell_back': outcome[1]})
    result = {'command': ' '.join(sys.argv), 'minutes': round((time.time() - started) / 60, 1), 'kinds': totals,
              'corrupt_checkpoints': corrupt}
    atomic_write_text(args.out, json.dumps(result, indent=2) + '\n')
    print(json.dumps(result, indent=2))


if __name__ == '__main__':
    main()
