"""The main job at demo scale: search -> derive -> brief retrain -> evaluate, on the embedded photos.

``run_search_demo()`` (also ``srnas demo-search``) builds the scikit-image
photo set (foundation's ``build_demo_data``), runs a demo-scale search
(default: SAC-DLSR, options/search/demo_sac_dlsr_x2.yml), derives the child,
retrains it briefly with BasicSR's pipeline and prints its PSNR/SSIM on
held-out photos next to bicubic, its params and Multi-Adds (1280x720 output)
and where the alpha-evolution plots are.
"""
import time
from pathlib import Path

DEFAULT_OPTIONS = Path(__file__).resolve().parents[2] / 'options' / 'search' / 'demo_sac_dlsr_x2.yml'
DEFAULT_RETRAIN_ITERS = 500
DEFAULT_THREADS = 1  # on a busy 2-core CPU, competing OpenMP threads make training many times slower


def _data_overrides(data_root, scale):
    """Point the demo YAML's datasets at ``data_root`` (absolute), wherever the demo runs."""
    from srnas.demo.data import split_folders
    train_gt, train_lq = split_folders(data_root, 'train_sub', scale)
    arch_gt, arch_lq = split_folders(data_root, 'val', scale)
    return [f'datasets:train:dataroot_gt={train_gt}', f'datasets:train:dataroot_lq={train_lq}',
            f"datasets:train:meta_info_file={Path(data_root) / 'train_sub' / 'meta_info_GT.txt'}",
            f'datasets:train_arch:dataroot_gt={arch_gt}', f'datasets:train_arch:dataroot_lq={arch_lq}']


def run_search_demo(output_root='demo_output', options=DEFAULT_OPTIONS, retrain_iters=DEFAULT_RETRAIN_ITERS,
                    search_overrides=None, progress=True, threads=DEFAULT_THREADS):
    """Run the whole SR-search job; returns a dict with the genotype, metrics, complexity and paths."""
    import torch
    if threads:
        torch.set_num_threads(threads)
    from srnas.commands.derive import derive_child
    from srnas.commands.search import run_sr_search
    from srnas.demo.data import build_demo_data
    from srnas.demo.imdn_baseline import evaluate_demo, load_trained
    from srnas.evaluation.benchmarks import format_metrics_table
    from srnas.evaluation.complexity import complexity_report, format_complexity
    from srnas.utils.options import read_yaml
    from srnas.utils.pipelines import run_train

    start = time.time()
    output_root = Path(output_root).resolve()
    scale = read_yaml(options)['scale']
    data_root = build_demo_data(output_root / 'data', scale)
    print(f'[search demo] data: {data_root} (scikit-image photos, MATLAB bicubic x{scale})', flush=True)
    print(f'[search demo] searching with {options} ...', flush=True)
    overrides = _data_overrides(data_root, scale) + list(search_overrides or [])
    searched = run_sr_search(options, overrides=overrides, root=output_root, progress=progress)
    search_time = time.time() - start
    print(f"[search demo] genotype {searched['genotype']} (stable since epoch "
          f"{searched['stable_since_epoch']} of {searched['epochs']}), search took {search_time:.0f} s", flush=True)
    print(f'[search demo] {format_separation(searched["history"][-1])}', flush=True)

    derived = derive_child(searched['genotype_file'], preset='demo', data_root=data_root,
                           total_iter=retrain_iters, out_dir=output_root / 'options',
                           root=output_root)
    print(f"[search demo] retraining the child for {retrain_iters} iterations ({derived['train_options']}) ...",
          flush=True)
    _quiet_validation(derived['train_options'], retrain_iters)
    run_train(derived['train_options'], root_path=output_root, brief=True)
    train_opt = read_yaml(derived['train_options'])
    weights = output_root / 'experiments' / train_opt['name'] / 'models' / 'net_g_latest.pth'
    model = load_trained(derived['train_options'], weights)
    results = evaluate_demo(model, data_root, scale, label=f'searched child ({retrain_iters} it)')
    complexity = complexity_report(model, scale)
    print(format_metrics_table(results))
    print(f'[search demo] child {format_complexity(complexity)}')
    print(f"[search demo] alpha evolution plots: {Path(searched['plots'][0]).parent}/ "
          f"({', '.join(Path(p).name for p in searched['plots'])})")
    print(f"[search demo] genotype: {derived['genotype_file']}; weights: {weights}")
    print(f'[search demo] total {time.time() - start:.0f} s (search {search_time:.0f} s)')
    return {'genotype': searched['genotype'], 'metrics': results, 'complexity': complexity,
            'plots': searched['plots'], 'weights': weights, 'train_options': derived['train_options'],
            'search': searched, 'scale': scale, 'data_root': data_root,
            'genotype_file': derived['genotype_file']}


def format_separation(entry):
    """How clearly the search decided: top-1 minus top-2 softmax(alpha) per position, from a search-log entry."""
    ops = entry['genotype']['ops']
    margins = ', '.join(f'{op} +{m:.3f}' for op, m in zip(ops, entry['top2_margin']))
    return f"softmax(alpha) top-1 minus top-2 per position: {margins} (uniform would be +0.000)"


def _quiet_validation(train_yml, total_iter):
    """Validate (and checkpoint) only at the end of the brief retraining: it is the slow part on CPU."""
    import yaml
    path = Path(train_yml)
    opt = yaml.safe_load(path.read_text())
    opt['val']['val_freq'] = total_iter
    opt['logger']['save_checkpoint_freq'] = total_iter
    from srnas.nas.files import write_mapping
    write_mapping(path, opt)
