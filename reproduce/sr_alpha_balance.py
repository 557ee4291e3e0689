"""Why the SR search alphas did not move: short demo-scale searches across the candidate knobs.

Each run is one ``srnas search`` (a subprocess) on the demo photos with one
option file changed in one or two places: the data-loss scale
(``train.pixel_opt.loss_weight``: 255 is the reference codes' L1 on 0..255
images), the architecture learning rate and the regulariser coefficient. From
its ``search_log.json`` it keeps, for the last epoch, the per-term alpha-gradient
norms (data term, each regulariser), the top-1 minus top-2 softmax margin per
position, the mean alpha, the genotype and the epoch since which it has not
changed, plus the child's Multi-Adds (for the FLOPs loss).

    python reproduce/sr_alpha_balance.py [--runs NAME ...] [--out results/sr_alpha_balance]

Writes ``runs.json`` (raw) and ``table.md``; finished runs are skipped.
See docs/sr_search.md, "Why the SR alphas did not move".
"""
import argparse
import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from srnas.utils.options import read_yaml

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = ROOT / 'options' / 'search'
RGB_RANGE = 255  # the reference DLSR code trains and searches on 0..255 images

# The option files ship the calibrated scale, so every run states its loss scale: LITERAL (L1 on 0..1) or X255.
LITERAL = {'train.pixel_opt.loss_weight': 1.0}
X255 = {'train.pixel_opt.loss_weight': float(RGB_RANGE)}
SA_LAMBDA_OVER_255 = {'architect.regularizers': [
    {'type': 'sa', 'schedule': {'type': 'epoch_over_k', 'k': 5, 'scale': 1 / RGB_RANGE}}]}
# name: (base demo option file, changes as {dotted.key: value}); None removes a key
RUNS = {
    'dlsr_darts': ('demo_darts_dlsr_x2', {**LITERAL}),
    'dlsr_sac': ('demo_sac_dlsr_x2', {**LITERAL}),
    'dlsr_sac_x255': ('demo_sac_dlsr_x2', {**X255}),
    'dlsr_sac_lambda/255': ('demo_sac_dlsr_x2', {**LITERAL, **SA_LAMBDA_OVER_255}),
    'imdn_sac': ('demo_sac_imdn_x2', {**LITERAL}),
    'imdn_sac_x255': ('demo_sac_imdn_x2', {**X255}),
    'imdn_sac_flops': ('demo_sac_imdn_flops_x2', {**LITERAL}),
    'imdn_sac_flops_x255': ('demo_sac_imdn_flops_x2', {**X255}),
    'dlsr_sac_lr3e-4': ('demo_sac_dlsr_x2', {**LITERAL, 'architect.optimizer.lr': 0.0003}),
    'dlsr_beta': ('demo_beta_dlsr_x2', {**LITERAL}),
    'dlsr_beta_x255': ('demo_beta_dlsr_x2', {**X255}),
    'imdn_darts': ('demo_darts_imdn_x2', {**LITERAL}),
    'dlsr_sac_x255_lr3e-3': ('demo_sac_dlsr_x2', {**X255, 'architect.optimizer.lr': 0.003}),
    'dlsr_a2m_sac_x255': ('demo_a2m_sac_dlsr_x2', {**X255}),
    'dlsr_sa_x255': ('demo_sa_dlsr_x2', {**X255}),
    'dlsr_sac_lr3e-3': ('demo_sac_dlsr_x2', {**LITERAL, 'architect.optimizer.lr': 0.003}),
}


def _set(opt, dotted, value):
    keys = dotted.split('.')
    node = opt
    for key in keys[:-1]:
        node = node[key]
    if value is None:
        node.pop(keys[-1], None)
    else:
        node[keys[-1]] = copy.deepcopy(value)


def _data_root(out):
    """The demo photos (built once, by the demo's own builder)."""
    from srnas.demo.data import build_demo_data
    return build_demo_data(out / 'data', 2)


def _options(name, base, changes, data_root, out):
    from srnas.demo.search_demo import _data_overrides
    opt = read_yaml(OPTIONS / f'{base}.yml')  # resolves base:
    opt['name'] = name.replace('/', '_')
    opt['logger']['use_tb_logger'] = False
    opt['search']['plot'] = False
    for override in _data_overrides(data_root, opt['scale']):
        dotted, value = override.split('=', 1)
        _set(opt, dotted.replace(':', '.'), value)
    for dotted, value in changes.items():
        _set(opt, dotted, value)
    path = out / 'options' / f"{opt['name']}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(opt, sort_keys=False))
    return path, opt


def _child_multi_adds(genotype):
    from srnas.spaces.costs import dlsr_cost_table, imdn_cost_table
    from srnas.ops.sr_ops import DLSR_CANDIDATES, IMDN_CANDIDATES
    if genotype['space'] == 'imdn':
        table, names = imdn_cost_table(2), IMDN_CANDIDATES
    else:
        table, names = dlsr_cost_table(2), DLSR_CANDIDATES
    return sum(float(table[row, names.index(op)]) for row, op in enumerate(genotype['ops']))


def summarise(log, seconds):
    """The numbers the investigation compares, from one search_log.json."""
    from srnas.nas.recorder import top2_margins
    last = log['epochs'][-1]
    alpha = last['softmax']['alpha']
    norms = last.get('alpha_grad_norms', {})
    regs = {k: v for k, v in norms.items() if k not in ('data', 'total')}
    return {
        'genotype': last['genotype'], 'stable_since_epoch': log['stable_since_epoch'],
        'epochs': len(log['epochs']), 'margins': top2_margins(alpha), 'min_margin': min(top2_margins(alpha)),
        'grad_norms': norms, 'reg_norm': sum(regs.values()) if regs else None,
        'child_conv_macs': _child_multi_adds(last['genotype']), 'seconds': seconds,
        'margin_by_epoch': [min(top2_margins(e['softmax']['alpha'])) for e in log['epochs']],
    }


def run_one(name, base, changes, data_root, out):
    path, opt = _options(name, base, changes, data_root, out)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    start = time.time()
    subprocess.run([sys.executable, '-m', 'srnas', 'search', '-opt', str(path), '--root', str(out),
                    '--threads', '1', '--quiet'], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    seconds = time.time() - start
    log = json.loads((out / 'experiments' / opt['name'] / 'search_log.json').read_text())
    return {'base': base, 'changes': changes, **summarise(log, seconds)}


def table(results):
    lines = ['| run | changes | min margin | margins | data / reg norm (last epoch) | stable since | child conv MACs |',
             '|---|---|---|---|---|---|---|']
    for name, r in results.items():
        changes = ', '.join('SA lambda x1/255' if isinstance(v, list) else f'{k.split(".")[-1]}={v:g}'
                            for k, v in r['changes'].items())
        norms = r['grad_norms']
        ratio = f"{norms['data']:.2e} / " + ('-' if r['reg_norm'] is None else f"{r['reg_norm']:.2e}")
        lines.append(f"| {name} | {changes} | {r['min_margin']:.4f} | {' '.join(f'{m:.3f}' for m in r['margins'])} "
                     f"| {ratio} | {r['stable_since_epoch']}/{r['epochs']} | {r['child_conv_macs'] / 1e9:.1f} G |")
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', nargs='+', default=list(RUNS), choices=list(RUNS), metavar='NAME')
    parser.add_argument('--out', default=str(ROOT / 'results' / 'sr_alpha_balance'))
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    raw = out / 'runs.json'
    results = json.loads(raw.read_text()) if raw.is_file() else {}
    data_root = _data_root(out)
    from srnas.nas.files import atomic_write_text
    for name in args.runs:
        if name in results:
            continue
        base, changes = RUNS[name]
        results[name] = run_one(name, base, changes, data_root, out)
        r = results[name]
        print(f"{name}: min margin {r['min_margin']:.4f}, norms {r['grad_norms']}, "
              f"genotype {r['genotype']['ops']} ({r['seconds']:.0f} s)", flush=True)
        atomic_write_text(raw, json.dumps(results, indent=1))
    atomic_write_text(out / 'table.md', table({k: results[k] for k in RUNS if k in results}) + '\n')
    print(table({k: results[k] for k in RUNS if k in results}))


if __name__ == '__main__':
    main()
