"""``make demo`` / ``srnas demo``: the product's main job on the embedded photos, in minutes on a CPU.

1. search a child in a demo-scale SR space, derive it and retrain it briefly (``run_search_demo``);
2. train the hand-designed baseline, a small IMDN, for the same number of iterations
   (``train_small_imdn``), so the searched child has a fair reference;
3. print one table: bicubic, IMDN, searched child on the held-out photos, with params
   and Multi-Adds at 1280x720 output.
"""
import time
from pathlib import Path

from srnas.demo.imdn_baseline import DEFAULT_THREADS, evaluate_demo, load_trained, train_small_imdn
from srnas.demo.search_demo import DEFAULT_OPTIONS, DEFAULT_RETRAIN_ITERS, run_search_demo


def run_main_demo(output_root='demo_output', options=DEFAULT_OPTIONS, iters=DEFAULT_RETRAIN_ITERS,
                  threads=DEFAULT_THREADS, progress=True, search_overrides=None):
    """Search + retrain the child, train the IMDN baseline, print the comparison; returns the rows.

    ``search_overrides``: ``key:key=value`` strings applied to the search YAML (as ``--force_yml``).
    """
    from srnas.evaluation.complexity import complexity_report
    start = time.time()
    output_root = Path(output_root).resolve()
    searched = run_search_demo(output_root, options, iters, search_overrides, progress=progress, threads=threads)
    scale = searched['scale']
    data_root = searched['data_root']

    print(f'[demo] training the hand-designed baseline (small IMDN) for {iters} iterations ...', flush=True)
    imdn_options, imdn_weights = train_small_imdn(output_root, scale, iters, data_root, threads=threads)
    imdn = load_trained(imdn_options, imdn_weights)
    imdn_label = f'IMDN small, hand-designed ({iters} it)'
    imdn_metrics = evaluate_demo(imdn, data_root, scale, label=imdn_label)[imdn_label]

    child_label = next(label for label in searched['metrics'] if label != 'Bicubic')
    rows = {
        'Bicubic': (searched['metrics']['Bicubic'], None),
        imdn_label: (imdn_metrics, complexity_report(imdn, scale)),
        f'searched child {searched["genotype"]["ops"]} ({iters} it)': (searched['metrics'][child_label],
                                                                        searched['complexity']),
    }
    print()
    print(format_comparison(rows, scale))
    print(f"\n[demo] alpha evolution plots: {Path(searched['plots'][0]).parent}/")
    print(f"[demo] searched genotype: {searched['genotype_file']}")
    print(f'[demo] total {time.time() - start:.0f} s')
    return rows


def format_comparison(rows, scale):
    """Table of held-out PSNR/SSIM with params and Multi-Adds; ``rows`` = {label: (metrics, complexity)}."""
    lines = [f'| Method (x{scale}, held-out photos) | PSNR / SSIM | Params | Multi-Adds (720p) |', '|---|---|---|---|']
    for label, (per_set, complexity) in rows.items():
        metrics = next(iter(per_set.values()))
        cost = ('-', '-') if complexity is None else (f"{complexity['params']:,}",
                                                     f"{complexity['multi_adds'] / 1e9:.2f} G")
        lines.append(f"| {label} | {metrics['psnr']:.2f} / {metrics['ssim']:.4f} | {cost[0]} | {cost[1]} |")
    return '\n'.join(lines)
