"""Multi-Adds vs quality across FLOPs-loss settings: short demo-scale IMDN-space searches (issue 9, item 3.4).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/flops_budget_curve.py
        [--base options/search/demo_darts_imdn_x2.yml]
        [--settings none relative=0.3 relative=1 relative=3 paper] [--retrain-iters 1000]
        [--out benchmark_output/flops_budget]

For each setting the base option file gets one FLOPs regulariser (replacing any it has): ``none``
drops it, ``relative=r`` / ``target=t`` use those knobs, ``paper`` is Eq. 18 with weight 1
(SA-DARTS's IMDN + FLOPs setting). The search runs (demo scale: width 16, 3 blocks, 10 epochs of
10 iterations), the child is derived, retrained briefly and evaluated on the held-out photos. One
row per setting: genotype, params, Multi-Adds at 1280x720 output, PSNR/SSIM; written to
``<out>/flops_budget_curve.json`` and printed as a table.
"""
import argparse
import copy
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASE_OPTIONS = REPO / 'options' / 'search' / 'demo_darts_imdn_x2.yml'
DEFAULT_SETTINGS = ['none', 'relative=0.3', 'relative=1', 'relative=3', 'paper']


def options_for(setting, out_dir, base=BASE_OPTIONS):
    """A copy of ``base`` whose FLOPs regulariser is ``setting`` (see the module doc)."""
    from srnas.nas.files import write_mapping
    from srnas.utils.options import read_yaml
    opt = copy.deepcopy(read_yaml(base))
    regs = [reg for reg in opt['architect'].get('regularizers') or [] if reg['type'] != 'flops']
    if setting == 'paper':
        regs.append({'type': 'flops', 'weight': 1.0})
    elif setting != 'none':
        knob, _, value = setting.partition('=')
        if knob not in ('relative', 'target') or not value:
            raise SystemExit(f'unknown setting {setting!r}: none, paper, relative=<r> or target=<t>')
        regs.append({'type': 'flops', knob: float(value)})
    opt['architect']['regularizers'] = regs
    tag = setting.replace('=', '_')
    opt['name'] = f"{opt['name']}_{tag}"
    path = Path(out_dir) / f'search_{tag}.yml'
    write_mapping(path, opt)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--base', default=str(BASE_OPTIONS), help='demo search option file to vary')
    parser.add_argument('--settings', nargs='+', default=DEFAULT_SETTINGS)
    parser.add_argument('--retrain-iters', type=int, default=1000)
    parser.add_argument('--out', default='benchmark_output/flops_budget')
    args = parser.parse_args()
    from srnas.demo.search_demo import run_search_demo
    from srnas.nas.files import atomic_write_text
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for setting in args.settings:
        options = options_for(setting, out, args.base)
        result = run_search_demo(output_root=out / f"run_{setting.replace('=', '_')}", options=options,
                                 retrain_iters=args.retrain_iters, progress=False)
        label = next(k for k in result['metrics'] if k != 'Bicubic')
        metrics = next(iter(result['metrics'][label].values()))
        rows.append({'setting': setting, 'ops': result['genotype']['ops'],
                     'params': result['complexity']['params'], 'multi_adds': result['complexity']['multi_adds'],
                     'psnr': metrics['psnr'], 'ssim': metrics['ssim']})
        atomic_write_text(out / 'flops_budget_curve.json', json.dumps(rows, indent=1))
    print('| FLOPs setting | genotype (c1..c4) | params | Multi-Adds (G) | PSNR | SSIM |')
    print('|---|---|---|---|---|---|')
    for row in rows:
        print(f"| {row['setting']} | {', '.join(row['ops'])} | {row['params']:,} | {row['multi_adds'] / 1e9:.2f} "
              f"| {row['psnr']:.2f} | {row['ssim']:.4f} |")


if __name__ == '__main__':
    main()
