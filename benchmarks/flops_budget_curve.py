"""Multi-Adds vs quality across FLOPs-budget settings: short demo-scale SAC-IMDN searches (issue 9, item 3.4).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/flops_budget_curve.py [--targets 0.2 0.4 0.6 0.8 1.0]
        [--retrain-iters 600] [--out benchmark_output/flops_budget]

For each ``target`` the FLOPs regulariser of options/search/demo_sac_imdn_flops_x2.yml is replaced by
``{type: flops, target: t}`` (plus ``paper``: Eq. 18 with weight 1 as the file has it), the search
runs (demo scale: width 16, 3 blocks, 10 epochs of 10 iterations), the child is derived, retrained
briefly and evaluated on the held-out photos. One row per setting: genotype, params, Multi-Adds
at 1280x720 output, PSNR/SSIM; written to ``<out>/flops_budget_curve.json`` and printed as a table.
"""
import argparse
import copy
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASE_OPTIONS = REPO / 'options' / 'search' / 'demo_sac_imdn_flops_x2.yml'


def options_for(setting, out_dir):
    """A copy of the demo option file whose FLOPs regulariser is ``setting`` ('paper' or a target)."""
    from srnas.nas.files import write_mapping
    from srnas.utils.options import read_yaml
    opt = copy.deepcopy(read_yaml(BASE_OPTIONS))
    regs = opt['architect']['regularizers']
    index = next(i for i, reg in enumerate(regs) if reg['type'] == 'flops')
    if setting != 'paper':
        regs[index] = {'type': 'flops', 'target': float(setting)}
    opt['name'] = f"{opt['name']}_{setting}"
    path = Path(out_dir) / f'search_{setting}.yml'
    write_mapping(path, opt)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--targets', nargs='+', default=['0.2', '0.4', '0.6', '0.8', '1.0', 'paper'])
    parser.add_argument('--retrain-iters', type=int, default=600)
    parser.add_argument('--out', default='benchmark_output/flops_budget')
    args = parser.parse_args()
    from srnas.demo.search_demo import run_search_demo
    from srnas.nas.files import atomic_write_text
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for setting in args.targets:
        result = run_search_demo(output_root=out / f'run_{setting}', options=options_for(setting, out),
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
