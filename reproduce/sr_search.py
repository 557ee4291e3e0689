"""SR search in the DLSR and IMDN spaces (x2) against random and published children (SA-DARTS Tables 3 and 7).

    python reproduce/sr_search.py --scale cpu|paper|smoke [--out DIR] [--spaces dlsr imdn]
                                  [--methods darts sa sac beta a2m_sac flops_sac] [--no_baselines] [--report_only]

1. Data: SunHays80 (``../shared/data/train/SunHays80``) numbered 0001..0080 and cut into sub-images by
   ``srnas prepare div2k``; the search trains weights on photos 1-64 and alpha on 65-80 (DIV2K's 1-700 /
   701-800 split, scaled down); the children retrain on all 80. ``srnas prepare benchmark`` makes the
   x2 LR of Set5, Set14, B100 and Urban100 (MATLAB bicubic).
2. Search: one ``srnas search`` per space and method, from the shipped option files (srnas-calibrated, see
   docs/sr_search.md); ``paper`` keeps their settings, ``cpu`` starts from their ``demo_`` twins (narrow
   supernet, high alpha lr) and runs longer on SunHays80. SA in the IMDN space and FLOPs-SAC in the DLSR
   space have no shipped file: they are SAC-IMDN without partial channels and SAC-DLSR plus the FLOPs loss.
3. Children: every searched genotype, ``--randoms`` uniformly sampled genotypes of the same space and the
   published children (DLSR paper child; IMDN; SAC-IMDN), each derived by ``srnas derive``, retrained by
   ``srnas train`` with one recipe and budget per scale for every seed, and tested by ``srnas test``.
4. Output in ``--out``: ``results.json`` (raw: every unit, its genotype, wall time, PSNR/SSIM per set,
   params and Multi-Adds), ``table.md`` (mean +- std over seeds), ``psnr_vs_multiadds_<space>.png``.

Every unit (a search, a child-seed) writes ``done.json`` when finished and is skipped on the next run, so an
interrupted run resumes where it stopped; ``--report_only`` rebuilds the summaries from the finished units while
a run goes on. Children with the same genotype and seed (two searches may derive one genotype) are trained
once and reported for each search. The CLIs run as subprocesses with one torch thread each.
"""
import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

from srnas.utils.options import read_yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / 'shared' / 'data'
SEARCH_OPTIONS = ROOT / 'options' / 'search'
SPACES = ('dlsr', 'imdn')
METHODS = ('darts', 'sa', 'sac', 'beta', 'a2m_sac', 'flops_sac')
TEST_SETS = ('Set5', 'Set14', 'B100', 'Urban100')
WEIGHT_PHOTOS, ARCH_PHOTOS = (1, 64), (65, 80)

# Per scale: search (supernet width, iterations, patch, batch), sub-images, children (width, blocks, recipe),
# seeds, random genotypes and test sets. ``None`` keeps the option file's value.
SCALES = {
    'smoke': {'option_prefix': 'demo_', 'photos': 4, 'crop': 96, 'step': 96,
              'search': {'total_iter': 2, 'iters_per_epoch': 1, 'gt_size': 32, 'batch': 2,
                         'num_feat': 8, 'imdn_blocks': 2},
              'child': {'num_feat': 8, 'imdn_blocks': 2, 'total_iter': 2, 'batch': 2, 'gt_size': 32, 'lr': 5e-3},
              'seeds': 1, 'randoms': 0, 'published': False, 'sets': ('Set5',)},
    # sized for about 2 hours on one thread of this shared 2-core machine (docs/reproduce.md, "SR search"):
    # searches ~2-4 min, child-seed units ~0.5-3 min; Urban100 (most of the test time) is every 10th image
    'cpu': {'option_prefix': 'demo_', 'photos': 80, 'crop': 192, 'step': 96,
            'search': {'total_iter': 180, 'iters_per_epoch': 15, 'gt_size': 32, 'batch': 8,
                       'num_feat': 16, 'imdn_blocks': 3},
            'child': {'num_feat': 16, 'imdn_blocks': 3, 'total_iter': 250, 'batch': 16, 'gt_size': 48, 'lr': 5e-3},
            'seeds': 2, 'randoms': 3, 'sets': TEST_SETS, 'subsets': {'Urban100': 10}},
    'paper': {'option_prefix': '', 'photos': 80, 'crop': 480, 'step': 240,
              'search': {'total_iter': None, 'iters_per_epoch': None, 'gt_size': None, 'batch': None,
                         'num_feat': None, 'imdn_blocks': None},
              'child': {'num_feat': None, 'imdn_blocks': None, 'total_iter': None, 'batch': None, 'gt_size': None,
                        'lr': None},
              'seeds': 2, 'randoms': 3, 'sets': TEST_SETS},
}
PUBLISHED = {'dlsr': ('dlsr_paper',), 'imdn': ('imdn', 'sac_imdn')}


# ----------------------------------------------------------------------------------------------
def cli(args, cwd, log_path):
    """Run ``srnas <args>`` with one thread; its output goes to ``log_path``; returns the output."""
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    with open(log_path, 'w') as log:
        proc = subprocess.run([sys.executable, '-m', 'srnas', *map(str, args)], cwd=cwd, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    text = Path(log_path).read_text()
    if proc.returncode != 0:
        raise RuntimeError(f"srnas {' '.join(map(str, args))} failed (exit {proc.returncode}); see {log_path}:\n"
                           + '\n'.join(text.splitlines()[-15:]))
    return text


def write_yaml(path, data):
    from srnas.nas.files import atomic_write_text
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False))
    return Path(path)


def write_json(path, data):
    from srnas.nas.files import atomic_write_text
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=1))
    return Path(path)


def done(unit_dir):
    marker = Path(unit_dir) / 'done.json'
    return json.loads(marker.read_text()) if marker.is_file() else None


# ----------------------------------------------------------------------------------------------
def prepare_data(out, scale):
    """SunHays80 sub-images (numbered) and the x2 benchmark sets under ``out/data``; returns that root."""
    data = out / 'data'
    if (data / 'done.json').is_file():
        return data
    photos_dir = SHARED / 'train' / 'SunHays80'
    if not photos_dir.is_dir():
        raise SystemExit(f'SunHays80 not found at {photos_dir} (see ../shared/data/README.md)')
    numbered = data / 'SunHays80_numbered'
    numbered.mkdir(parents=True, exist_ok=True)
    photos = sorted(p for p in photos_dir.iterdir() if p.suffix.lower() in ('.jpg', '.png'))
    photos = photos[:scale['photos']]
    for i, photo in enumerate(photos, start=1):  # numbered names let the search split photos by number
        link = numbered / f'{i:04d}{photo.suffix.lower()}'
        if not link.exists():
            link.symlink_to(photo)
    cli(['prepare', 'div2k', '-i', numbered, '-o', data / 'DIV2K', '--scales', 2, '--crop', scale['crop'],
         '--step', scale['step']], ROOT, data / 'prepare_train.log')
    for name in scale['sets']:
        cli(['prepare', 'benchmark', '-i', SHARED / 'benchmarks' / name, '-o', data / name, '--scales', 2],
            ROOT, data / f'prepare_{name}.log')
    write_json(data / 'done.json', {'photos': len(photos), 'sets': list(scale['sets'])})
    return data


def set_label(name, scale):
    """The column name of a test set: ``Urban100_every10`` where only every 10th image is tested."""
    every = scale.get('subsets', {}).get(name)
    return f'{name}_every{every}' if every else name


def benchmark_subset(data, name, every):
    """Every ``every``-th image (1st, (every+1)-th, ...) of a prepared test set, linked into its own folder."""
    subset = data / f'{name}_every{every}'
    for part in ('GTmod2', 'LRbicx2'):
        source = data / name / part
        images = sorted(source.iterdir())
        if not images:
            raise SystemExit(f'{source} is empty: delete {data / "done.json"} to prepare the test sets again')
        (subset / part).mkdir(parents=True, exist_ok=True)
        for image in images[::every]:
            link = subset / part / image.name
            if not link.exists():
                link.symlink_to(image)
    return subset


def _subimages(data):
    root = data / 'DIV2K'
    return (root / 'DIV2K_train_HR_sub', root / 'DIV2K_train_LR_bicubic' / 'X2_sub',
            root / 'meta_info_DIV2K_train_HR_sub.txt')


def search_options(space, method, scale, data, name):
    """The option file of one search unit: the shipped file, the method's change, the scale, the data."""
    prefix = scale['option_prefix']
    base = {'darts': f'darts_{space}_x2', 'sa': 'sa_dlsr_x2' if space == 'dlsr' else 'sac_imdn_x2',
            'sac': f'sac_{space}_x2', 'beta': f'beta_{space}_x2', 'a2m_sac': f'a2m_sac_{space}_x2',
            'flops_sac': 'sac_dlsr_x2' if space == 'dlsr' else 'sac_imdn_flops_x2'}[method]
    opt = read_yaml(SEARCH_OPTIONS / f'{prefix}{base}.yml')  # resolves base:
    if method == 'sa' and space == 'imdn':
        opt['network_g'].pop('partial_k', None)  # SA = SAC without partial channels
    if method == 'flops_sac' and space == 'dlsr':
        opt['architect']['regularizers'].append({'type': 'flops', 'weight': 1.0})  # as sac_imdn_flops_x2
    opt['name'] = name
    opt['logger']['use_tb_logger'] = False
    gt_dir, lq_dir, meta = _subimages(data)
    for split, photos in (('train', WEIGHT_PHOTOS), ('train_arch', ARCH_PHOTOS)):
        d = opt['datasets'][split]
        d.update({'dataroot_gt': str(gt_dir), 'dataroot_lq': str(lq_dir), 'meta_info_file': str(meta)})
        d.pop('filename_tmpl', None)
        if scale['search']['gt_size']:  # CPU scales: small patches, no loader workers (one core per job)
            d['gt_size'], d['batch_size_per_gpu'] = scale['search']['gt_size'], scale['search']['batch']
            d['num_worker_per_gpu'] = 0
    last = min(ARCH_PHOTOS[1], scale['photos'])
    split_at = max(1, min(WEIGHT_PHOTOS[1], last - 1)) if scale['photos'] < ARCH_PHOTOS[1] else WEIGHT_PHOTOS[1]
    opt['search']['train_image_range'] = [1, split_at]
    opt['search']['arch_image_range'] = [split_at + 1, last]
    s = scale['search']
    if s['total_iter']:
        opt['train']['total_iter'] = s['total_iter']
        opt['search']['iters_per_epoch'] = s['iters_per_epoch']
        opt['network_g']['num_feat'] = s['num_feat']
        if space == 'imdn':
            opt['network_g']['num_blocks'] = s['imdn_blocks']
    return opt


def search_unit_dir(out, space, method):
    return out / 'search' / f'{space}_{method}'


def child_unit_dir(out, space, child_id, seed):
    return out / 'children' / space / child_id / f'seed{seed}'


def run_search_unit(out, space, method, scale, data):
    unit = search_unit_dir(out, space, method)
    finished = done(unit)
    if finished:
        return finished
    unit.mkdir(parents=True, exist_ok=True)
    name = f'{space}_{method}'
    opt_path = write_yaml(unit / f'{name}.yml', search_options(space, method, scale, data, name))
    start = time.time()
    cli(['search', '-opt', opt_path, '--root', unit, '--threads', 1, '--quiet'], ROOT, unit / 'search.log')
    exp = unit / 'experiments' / name
    log = json.loads((exp / 'search_log.json').read_text())
    last = log['epochs'][-1]
    result = {'space': space, 'method': method, 'genotype': last['genotype'],
              'genotype_file': str(exp / 'genotype.json'),
              'seconds': time.time() - start, 'stable_since_epoch': log['stable_since_epoch'],
              'epochs': len(log['epochs']), 'top2_margin': last.get('top2_margin'),
              'alpha_grad_norms': last.get('alpha_grad_norms')}
    write_json(unit / 'done.json', result)
    return result


# ----------------------------------------------------------------------------------------------
def random_genotype(space, rng):
    from srnas.ops.sr_ops import DLSR_CANDIDATES, IMDN_CANDIDATES
    if space == 'imdn':
        return {'space': 'imdn', 'ops': [rng.choice(IMDN_CANDIDATES) for _ in range(4)]}
    return {'space': 'dlsr', 'ops': [rng.choice(DLSR_CANDIDATES) for _ in range(3)],
            'connections': [sorted(rng.sample(range(1, cell), 2), reverse=True) for cell in range(3, 7)]}


def published_genotype(name):
    from srnas.spaces.genotypes import DLSR_PAPER_GENOTYPE, IMDN_SAC_FLOPS_GENOTYPE
    return {'dlsr_paper': DLSR_PAPER_GENOTYPE, 'sac_imdn': IMDN_SAC_FLOPS_GENOTYPE,
            'imdn': {'space': 'imdn', 'ops': ['conv_3x3'] * 4}}[name]


def children(out, space, searched, scale):
    """(child id, group, genotype file) of every child of one space."""
    from srnas.spaces.genotypes import save_genotype
    found = [(f'searched_{r["method"]}', 'searched', r['genotype_file']) for r in searched if r['space'] == space]
    rng = random.Random(f'sr_search/{space}')  # the same random genotypes on every run and scale
    for i in range(scale['randoms']):
        path = out / 'genotypes' / f'{space}_random_{i + 1}.json'
        save_genotype(random_genotype(space, rng), path, extra={'scale': 2})
        found.append((f'random_{i + 1}', 'random', str(path)))
    for name in PUBLISHED[space] if scale.get('published', True) else ():
        path = out / 'genotypes' / f'{space}_{name}.json'
        save_genotype(published_genotype(name), path, extra={'scale': 2})
        found.append((f'published_{name}', 'published', str(path)))
    return found


def child_train_options(derived_yml, scale, data, seed, name, space):
    opt = yaml.safe_load(Path(derived_yml).read_text())
    opt['name'], opt['manual_seed'] = name, seed
    # derive's DLSR recipe sets train.grad_clip, which only srnas's SRModel subclass accepts
    opt['model_type'] = 'SRNASModel'
    gt_dir, lq_dir, meta = _subimages(data)
    opt['datasets']['train'].update({'dataroot_gt': str(gt_dir), 'dataroot_lq': str(lq_dir),
                                     'meta_info_file': str(meta)})
    c = scale['child']
    if c['total_iter']:
        opt['datasets']['train']['num_worker_per_gpu'] = 0
        opt['datasets']['train']['gt_size'] = c['gt_size']
        opt['datasets']['train']['batch_size_per_gpu'] = c['batch']
        opt['train']['total_iter'] = c['total_iter']
        opt['train']['optim_g']['lr'] = c['lr']
        # the demo's short-budget recipe: high lr, cosine decay to lr/100
        opt['train']['scheduler'] = {'type': 'CosineAnnealingRestartLR', 'periods': [c['total_iter']],
                                     'restart_weights': [1], 'eta_min': c['lr'] / 100}
        opt['val']['val_freq'] = c['total_iter']
        opt['logger'].update({'print_freq': c['total_iter'], 'save_checkpoint_freq': c['total_iter'],
                              'use_tb_logger': False})
        if space == 'imdn':
            opt['network_g']['num_blocks'] = c['imdn_blocks']
    opt['logger']['use_tb_logger'] = False
    return opt


def parse_test_output(text):
    """PSNR/SSIM per set and params/Multi-Adds from the ``srnas test`` report."""
    metrics = {}
    for line in text.splitlines():
        m = re.match(r'^\| (\S+) \| ([\d.]+) \| ([\d.]+) \|$', line.strip())
        if m and m.group(1) != 'Set':
            metrics[m.group(1)] = {'psnr': float(m.group(2)), 'ssim': float(m.group(3))}
    cost = re.search(r'Params: ([\d,]+) \| Multi-Adds: ([\d.]+) G', text)
    if not metrics or not cost:
        raise RuntimeError(f'could not read PSNR/SSIM and complexity from srnas test output:\n{text[-2000:]}')
    return metrics, int(cost.group(1).replace(',', '')), float(cost.group(2)) * 1e9


def training_key(genotype, seed):
    """What a child's weights depend on besides the run's common recipe: its full genotype (ops and connections,
    in their order) and its seed. Child training is deterministic on CPU (one thread, no loader workers, BasicSR's
    seeded crops and sampler; two runs of one child and seed give bit-identical weights, docs/reproduce.md), so
    children with equal keys are trained once."""
    return json.dumps(genotype, sort_keys=True), seed


def reuse_trained(unit, child_id, group, trained):
    """The result of an already trained twin (same genotype and seed) under this child's name; written as this
    unit's done.json, with ``trained_as`` naming the unit that was trained and no wall time of its own."""
    result = dict(trained, child=child_id, group=group, seconds=0.0,
                  trained_as=trained.get('trained_as') or f"{trained['child']} seed {trained['seed']}")
    unit.mkdir(parents=True, exist_ok=True)
    write_json(unit / 'done.json', result)
    return result


def run_child_unit(out, space, child_id, group, genotype_file, seed, scale, data, trained=None):
    """Derive, retrain and test one child at one seed; ``trained`` ({training_key: result}) holds the units
    trained so far, and a child whose key is there reuses that result instead of training again."""
    unit = child_unit_dir(out, space, child_id, seed)
    finished = done(unit)
    if finished:
        return finished
    genotype = json.loads(Path(genotype_file).read_text())['genotype']
    twin = (trained or {}).get(training_key(genotype, seed))
    if twin:
        return reuse_trained(unit, child_id, group, twin)
    unit.mkdir(parents=True, exist_ok=True)
    start = time.time()
    name = f'{space}_{child_id}_seed{seed}'
    derive = ['derive', '-g', genotype_file, '--preset', 'full', '--data_root', data, '--out_dir', unit / 'derived',
              '--name', name, '--scale', 2]
    if scale['child']['num_feat']:
        derive += ['--num_feat', scale['child']['num_feat']]
    cli(derive, ROOT, unit / 'derive.log')
    train_yml = write_yaml(unit / f'{name}.yml', child_train_options(unit / 'derived' / f'{name}.yml', scale, data,
                                                                     seed, name, space))
    cli(['train', '-opt', train_yml, '--root', unit], ROOT, unit / 'train.log')
    test = yaml.safe_load((unit / 'derived' / f'{name}_test.yml').read_text())
    test['network_g'] = yaml.safe_load(train_yml.read_text())['network_g']
    test['path']['pretrain_network_g'] = str(unit / 'experiments' / name / 'models' / 'net_g_latest.pth')
    test['datasets'] = {k: v for k, v in test['datasets'].items() if v['name'] in scale['sets']}
    for d in test['datasets'].values():
        every = scale.get('subsets', {}).get(d['name'])
        if every:
            subset = benchmark_subset(data, d['name'], every)
            d.update({'name': set_label(d['name'], scale), 'dataroot_gt': str(subset / 'GTmod2'),
                      'dataroot_lq': str(subset / 'LRbicx2')})
    test_yml = write_yaml(unit / f'{name}_test.yml', test)
    metrics, params, multi_adds = parse_test_output(cli(['test', '-opt', test_yml, '--root', unit], ROOT,
                                                        unit / 'test.log'))
    result = {'space': space, 'child': child_id, 'group': group, 'seed': seed, 'genotype': genotype,
              'metrics': metrics, 'params': params, 'multi_adds': multi_adds, 'seconds': time.time() - start}
    write_json(unit / 'done.json', result)
    return result


# ----------------------------------------------------------------------------------------------
def _mean_std(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def aggregate(child_results, sets):
    """{(space, child): row} with mean and std over seeds of every metric."""
    rows = {}
    for r in child_results:
        rows.setdefault((r['space'], r['child']), []).append(r)
    table = {}
    for key, runs in rows.items():
        row = {'group': runs[0]['group'], 'genotype': runs[0]['genotype'], 'seeds': len(runs),
               'params': runs[0]['params'], 'multi_adds': runs[0]['multi_adds'],
               # the child whose training this one shares (same genotype), if any
               'same_as': sorted({r['trained_as'].split(' seed ')[0] for r in runs if r.get('trained_as')})}
        for s in sets:
            for m in ('psnr', 'ssim'):
                row[f'{s}_{m}'] = _mean_std([r['metrics'][s][m] for r in runs])
        table[key] = row
    return table


def group_comparison(table, sets):
    """Per space and test set: each group's mean PSNR over its children (of their seed means), the spread between
    its children (std) and the typical seed spread (mean of the children's seed std); and the searched children
    whose mean minus its seed std lies above the mean plus seed std of every random child (above every random
    child beyond the seed spread), or below every random child by the same test; only children with 2+ seeds
    are judged. A child that shares a twin's training counts once per search that derived it."""
    rows, verdicts = [], []
    for space in sorted({k[0] for k in table}):
        members = {}
        for (sp, child), row in table.items():
            if sp == space:
                members.setdefault(row['group'], []).append((child, row))
        for group in ('searched', 'random', 'published'):
            kids = members.get(group, [])
            if not kids:
                continue
            cells = {}
            for s in sets:
                means = [row[f'{s}_psnr'][0] for _, row in kids]
                seed_sds = [row[f'{s}_psnr'][1] for _, row in kids if row['seeds'] > 1]
                cells[s] = (*_mean_std(means), statistics.mean(seed_sds) if seed_sds else None)
            rows.append((space, group, len(kids), cells))
        # a single seed has no spread to judge by: only children (and random references) with 2+ seeds count
        randoms = [row for _, row in members.get('random', []) if row['seeds'] > 1]
        searched = [(c, row) for c, row in members.get('searched', []) if row['seeds'] > 1]
        if not randoms or not searched:
            continue
        for s in sets:
            top = max(row[f'{s}_psnr'][0] + row[f'{s}_psnr'][1] for row in randoms)
            bottom = min(row[f'{s}_psnr'][0] - row[f'{s}_psnr'][1] for row in randoms)
            above = [c for c, row in searched if row[f'{s}_psnr'][0] - row[f'{s}_psnr'][1] > top]
            below = [c for c, row in searched if row[f'{s}_psnr'][0] + row[f'{s}_psnr'][1] < bottom]
            verdicts.append((space, s, len(searched), len(randoms), above, below))
    return rows, verdicts


def markdown(table, sets, searches):
    lines = ['| space | child | seeds | ' + ' | '.join(f'{s} PSNR / SSIM' for s in sets) + ' | params | Multi-Adds |',
             '|---|---|---|' + '---|' * len(sets) + '---|---|']
    for (space, child), row in sorted(table.items(), key=lambda kv: (kv[0][0], kv[1]['group'], kv[0][1])):
        cells = [f"{row[f'{s}_psnr'][0]:.2f} +- {row[f'{s}_psnr'][1]:.2f} / "
                 f"{row[f'{s}_ssim'][0]:.4f} +- {row[f'{s}_ssim'][1]:.4f}" for s in sets]
        label = child + ''.join(f' (= {twin})' for twin in row.get('same_as', ()))
        lines.append(f"| {space} | {label} | {row['seeds']} | " + ' | '.join(cells) +
                     f" | {row['params']:,} | {row['multi_adds'] / 1e9:.2f} G |")
    groups, verdicts = group_comparison(table, sets)
    if groups:
        lines += ['', 'Group means: mean over the group\'s children of their seed-mean PSNR +- std between children '
                  '[mean seed std of one child]', '',
                  '| space | group | children | ' + ' | '.join(sets) + ' |', '|---|---|---|' + '---|' * len(sets)]
        for space, group, n, cells in groups:
            lines.append(f'| {space} | {group} | {n} | ' + ' | '.join(
                f'{m:.2f} +- {sd:.2f}' + (f' [{seed_sd:.2f}]' if seed_sd is not None else '')
                for m, sd, seed_sd in (cells[s] for s in sets)) + ' |')
    if verdicts:
        lines += ['', 'Searched children against the random ones (PSNR mean +- seed std of each child; only children '
                  'with 2 or more seeds are judged):', '',
                  '| space | set | searched / random judged | above every random child | below every random child |',
                  '|---|---|---|---|---|']
        for space, s, n_searched, n_random, above, below in verdicts:
            lines.append(f"| {space} | {s} | {n_searched} / {n_random} | {', '.join(above) or 'none'} | "
                         f"{', '.join(below) or 'none'} |")
    lines += ['', '| search | genotype | stable since epoch | min top-2 margin | wall time |', '|---|---|---|---|---|']
    for r in searches:
        margin = min(r['top2_margin']) if r.get('top2_margin') else float('nan')
        lines.append(f"| {r['space']} {r['method']} | {r['genotype']['ops']} | {r['stable_since_epoch']} of "
                     f"{r['epochs']} | {margin:.3f} | {r['seconds']:.0f} s |")
    return '\n'.join(lines) + '\n'


def wall_times(searches, child_results):
    """One line: the summed wall time of the finished units (each unit's own time, not the run's span)."""
    trained = [r['seconds'] for r in child_results if not r.get('trained_as')]
    searching = sum(r['seconds'] for r in searches)
    return (f"\nWall time of the finished units: {len(searches)} searches {searching / 60:.0f} min; "
            f"{len(trained)} trained child units {sum(trained) / 60:.0f} min"
            + (f" ({min(trained):.0f} to {max(trained):.0f} s each)" if trained else '')
            + f"; {len(child_results) - len(trained)} child units reused a twin's training.\n")


def plot(table, sets, out):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    paths = []
    colours = {'searched': 'tab:red', 'random': 'tab:grey', 'published': 'tab:blue'}
    for space in sorted({k[0] for k in table}):
        fig, axes = plt.subplots(1, len(sets), figsize=(4 * len(sets), 3.5), squeeze=False)
        for ax, s in zip(axes[0], sets):
            for (sp, child), row in table.items():
                if sp != space:
                    continue
                mean, std = row[f'{s}_psnr']
                ax.errorbar(row['multi_adds'] / 1e9, mean, yerr=std, fmt='o', color=colours[row['group']])
                ax.annotate(child.replace('searched_', '').replace('published_', ''),
                            (row['multi_adds'] / 1e9, mean), fontsize=6)
            ax.set_title(f'{space} x2 {s}')
            ax.set_xlabel('Multi-Adds (G, 720p)')
            ax.set_ylabel('PSNR (dB)')
        fig.tight_layout()
        path = out / f'psnr_vs_multiadds_{space}.png'
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def projection(searches, child_results, n_searches, n_child_units):
    """Projected wall time of the whole run from the finished units' mean times."""
    s = statistics.mean(r['seconds'] for r in searches) if searches else 0.0
    timed = [r['seconds'] for r in child_results if not r.get('trained_as')]  # reused units took no time
    c = statistics.mean(timed) if timed else 0.0
    return {'search_s_each': s, 'child_unit_s_each': c, 'searches': n_searches, 'child_units': n_child_units,
            'total_s': s * n_searches + c * n_child_units}


def check_settings(out, scale):
    """A resumed run must use the settings its finished units were made with."""
    path = out / 'settings.json'
    settings = json.loads(json.dumps(scale))  # tuples -> lists, as stored
    if path.is_file():
        stored = json.loads(path.read_text())
        if stored != settings:
            raise SystemExit(f'{path} holds other settings than this run ({stored} != {settings}): the finished '
                             'units would not be comparable; use another --out or delete that folder')
    else:
        write_json(path, settings)


def report(out, scale_name, scale, searches, child_results, planned, start):
    """Rewrite results.json, table.md and the plots from the units finished so far (a partial run is reportable)."""
    from srnas.nas.files import atomic_write_text
    sets = [set_label(s, scale) for s in scale['sets']]
    table = aggregate(child_results, sets)
    finished = {f"search {r['space']} {r['method']}" for r in searches} | \
        {f"child {r['space']} {r['child']} seed {r['seed']}" for r in child_results}
    full = SCALES[scale_name]
    full_units = len(SPACES) * (len(METHODS) + full['randoms']) * full['seeds'] + \
        (sum(len(v) for v in PUBLISHED.values()) * full['seeds'] if full.get('published', True) else 0)
    summary = {'scale': scale_name, 'settings': scale, 'searches': searches, 'children': child_results,
               'wall_s': time.time() - start,
               'remaining': [u for u in planned if u not in finished],
               'projection_full_run': projection(searches, child_results, len(SPACES) * len(METHODS), full_units)}
    write_json(out / 'results.json', summary)
    atomic_write_text(out / 'table.md', markdown(table, sets, searches) + wall_times(searches, child_results))
    plots = plot(table, sets, out) if table else []
    return summary, table, sets, plots


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--scale', choices=sorted(SCALES), required=True)
    parser.add_argument('--out', default=None, help='output folder (default reproduce/results/sr_search/<scale>)')
    parser.add_argument('--spaces', nargs='+', choices=SPACES, default=None)
    parser.add_argument('--methods', nargs='+', choices=METHODS, default=None)
    parser.add_argument('--no_baselines', action='store_true', help='searched children only (for a timing pilot)')
    parser.add_argument('--report_only', action='store_true',
                        help='rebuild results.json, table.md and the plots from the finished units; run nothing')
    args = parser.parse_args(argv)
    scale = dict(SCALES[args.scale])
    if args.scale == 'smoke':  # the suite's end-to-end check: one search and its child, every stage
        spaces, methods = args.spaces or ['dlsr'], args.methods or ['sac']
    else:
        spaces, methods = args.spaces or list(SPACES), args.methods or list(METHODS)
    if args.no_baselines:
        scale.update(randoms=0, published=False)
    out = Path(args.out or ROOT / 'reproduce' / 'results' / 'sr_search' / args.scale).resolve()
    out.mkdir(parents=True, exist_ok=True)
    check_settings(out, scale)
    start = time.time()
    data = out / 'data' if args.report_only else prepare_data(out, scale)
    # Order for a useful partial run: every search (both spaces), then seed 0 of every child, then seed 1, ...
    planned = [f'search {space} {method}' for space in spaces for method in methods]
    searches, child_results = [], []

    def progress():
        return report(out, args.scale, scale, searches, child_results, planned, start)

    for space in spaces:
        for method in methods:
            if args.report_only and not done(search_unit_dir(out, space, method)):
                continue
            searches.append(run_search_unit(out, space, method, scale, data))
            print(f"[search] {space} {method}: {searches[-1]['genotype']['ops']} "
                  f"({searches[-1]['seconds']:.0f} s)", flush=True)
            if not args.report_only:
                progress()
    kids = {space: children(out, space, searches, scale) for space in spaces}
    planned += [f'child {space} {child_id} seed {seed}' for seed in range(scale['seeds']) for space in spaces
                for child_id, _, _ in kids[space]]
    trained = {}  # training_key -> the unit that trained it
    for seed in range(scale['seeds']):
        for space in spaces:
            for child_id, group, genotype_file in kids[space]:
                if args.report_only and not done(child_unit_dir(out, space, child_id, seed)):
                    continue
                r = run_child_unit(out, space, child_id, group, genotype_file, seed, scale, data, trained)
                child_results.append(r)
                if not r.get('trained_as'):
                    trained.setdefault(training_key(r['genotype'], seed), r)
                print(f"[child] {space} {child_id} seed {seed}: "
                      + ', '.join(f"{s} {m['psnr']:.2f}" for s, m in r['metrics'].items())
                      + (f" (same genotype as {r['trained_as']}: not trained again)" if r.get('trained_as')
                         else f" ({r['seconds']:.0f} s)"), flush=True)
                if not args.report_only:
                    progress()
    summary, table, sets, plots = progress()
    print(markdown(table, sets, searches))
    p = summary['projection_full_run']
    print(f"[sr_search] {out}: results.json, table.md, {', '.join(x.name for x in plots)}; this run "
          f"{summary['wall_s']:.0f} s; the full {args.scale} scale projects to {p['total_s'] / 3600:.2f} h "
          f"({p['searches']} searches x {p['search_s_each']:.0f} s + {p['child_units']} child units x "
          f"{p['child_unit_s_each']:.0f} s)")
    return summary


if __name__ == '__main__':
    main()
