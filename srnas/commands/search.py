"""``srnas search -opt options/search/X.yml``: differentiable architecture search of an SR network.

The SR adapter of ``srnas.nas.search_loop``: the supernet (``network_g``),
its L1 loss and Adam weights (``train``), weights trained on
``datasets.train`` and alpha on the separate architecture split
``datasets.train_arch``. An epoch is ``search.iters_per_epoch`` iterations;
``train.total_iter`` sets the length. The loop logs every epoch to
``search_log.json`` and TensorBoard, redraws the alpha-evolution plots,
rewrites ``genotype.json`` and saves a checkpoint (write-then-rename); a search
resumed with ``--auto_resume`` replays exactly what an uninterrupted run does
on CPU.
"""
import argparse
import json
import math
import re
import shutil
import sys
import time
from pathlib import Path

HELP = 'search an SR architecture (DLSR / IMDN space) with any architect and regulariser (-opt options/search/X.yml)'
SEARCH_KEYS = {'iters_per_epoch', 'keep_checkpoints', 'plot', 'train_image_range', 'arch_image_range', 'order',
               'select', 'early_stopping_patience', 'checkpoint_every_iters', 'nonfinite',
               'amp', 'compile'}  # amp: none | bf16 | fp16 (CUDA); compile: torch.compile the supernet


def build_parser():
    parser = argparse.ArgumentParser(prog='srnas search', description=HELP)
    parser.add_argument('-opt', required=True, help='search option YAML (options/search/*.yml)')
    parser.add_argument('--auto_resume', action='store_true',
                        help='continue from the newest checkpoint in experiments/<name>/checkpoints')
    parser.add_argument('--force_yml', nargs='+', default=None, metavar='KEY=VALUE',
                        help='override existing options, e.g. train:total_iter=40 search:iters_per_epoch=10')
    parser.add_argument('--root', default=None, help='folder receiving experiments/ and tb_logger/ (default: cwd)')
    parser.add_argument('--threads', type=int, default=0,
                        help='torch CPU threads (0 = torch default; 1 is much faster on a busy CPU)')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    return parser


def main(argv):
    args = build_parser().parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    from srnas.nas import distributed
    from srnas.utils.cli import run_guarded
    try:
        return run_guarded('search', _run_and_report, args, option_file=args.opt)
    finally:
        distributed.teardown()


def _run_and_report(args):
    from srnas.nas import distributed
    result = run_sr_search(args.opt, auto_resume=args.auto_resume, overrides=args.force_yml, root=args.root,
                        progress=not args.quiet)
    if not distributed.is_main():
        return
    print(f"genotype: {json.dumps(result['genotype'])}")
    print(f"stable since epoch {result['stable_since_epoch']} of {result['epochs']}")
    print(f"genotype file: {result['genotype_file']}")
    print(f"alpha plots: {', '.join(str(p) for p in result['plots'])}")


# ----------------------------------------------------------------------------------------------
def load_search_options(opt_path, overrides=None):
    """Validated options (foundation checks + the search-specific sections)."""
    from srnas.utils.errors import InputError
    from srnas.utils.options import load_options
    opt = load_options(opt_path, is_train=True, overrides=overrides, search=True)
    search = opt.get('search')
    if not isinstance(search, dict) or 'iters_per_epoch' not in search:
        raise InputError(f"{opt_path}: option 'search.iters_per_epoch': missing (iterations per search epoch)")
    unknown = sorted(set(search) - SEARCH_KEYS)
    if unknown:
        raise InputError(f"{opt_path}: option 'search.{unknown[0]}': unknown key (known: {', '.join(sorted(SEARCH_KEYS))})")
    ipe = search['iters_per_epoch']
    if isinstance(ipe, bool) or not isinstance(ipe, int) or ipe < 1:
        raise InputError(f"{opt_path}: option 'search.iters_per_epoch': must be a positive integer, got {ipe!r}")
    for key in ('train_image_range', 'arch_image_range'):
        value = search.get(key)
        if value is not None and not (isinstance(value, list) and len(value) == 2 and
                                      all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                                      and value[0] <= value[1]):
            raise InputError(f"{opt_path}: option 'search.{key}': must be [first, last] image numbers, got {value!r}")
    if 'train_arch' not in opt['datasets']:
        raise InputError(f"{opt_path}: option 'datasets.train_arch': missing (the architecture split)")
    if 'architect' not in opt:
        raise InputError(f"{opt_path}: option 'architect': missing (type, optimizer, regularizers)")
    from srnas.nas import distributed
    opt['is_train'], opt['dist'] = True, distributed.active()
    opt['rank'], opt['world_size'] = distributed.rank(), distributed.world_size()
    if opt.get('num_gpu', 'auto') == 'auto':
        import torch
        opt['num_gpu'] = 1 if torch.cuda.is_available() else 0
    from srnas.nas.errors import NASConfigError
    from srnas.nas.precision import check_amp
    try:
        check_amp(search.get('amp', 'none'), 'cuda' if opt['num_gpu'] else 'cpu', 'search.amp')
    except NASConfigError as err:
        raise InputError(f"{opt_path}: option {err}") from None
    opt.setdefault('manual_seed', 0)
    return opt


def _epoch_loader(dataset, dataset_opt, num_batches, seed):
    """DataLoader yielding ``num_batches`` shuffled batches, fully determined by ``seed``.

    Under torchrun the global batch is ``batch_size_per_gpu`` x processes (BasicSR's meaning): the
    global index order is drawn from ``seed`` on every rank and each rank reads its ``rank_share``.
    """
    import torch
    from torch.utils.data import DataLoader

    from srnas.nas import distributed
    from srnas.nas.search_loop import seed_everything
    batch = dataset_opt['batch_size_per_gpu']
    global_batch = batch * distributed.world_size()
    generator = torch.Generator().manual_seed(seed)
    indices = []
    while len(indices) < num_batches * global_batch:
        indices.extend(torch.randperm(len(dataset), generator=generator).tolist())
    indices = distributed.rank_share(indices[:num_batches * global_batch])
    rank = distributed.rank()

    def init_worker(worker_id):
        seed_everything(seed + 1 + worker_id + 1000 * rank)

    return DataLoader(dataset, batch_size=batch, sampler=indices, drop_last=True,
                      num_workers=dataset_opt.get('num_worker_per_gpu', 0), worker_init_fn=init_worker,
                      generator=torch.Generator().manual_seed(seed))


def _image_number(path):
    digits = re.match(r'\d*', Path(path).name).group()
    return int(digits) if digits else None


def _build_dataset(opt, phase, image_range=None):
    """BasicSR dataset of ``datasets.<phase>``; ``image_range [a, b]`` keeps files numbered a..b (DIV2K style)."""
    from basicsr.data import build_dataset
    from srnas.utils.errors import InputError
    dataset_opt = dict(opt['datasets'][phase])
    dataset_opt['phase'] = 'train'
    dataset_opt['scale'] = opt['scale']
    dataset = build_dataset(dataset_opt)
    if image_range is not None:
        first, last = image_range
        dataset.paths = [p for p in dataset.paths if (n := _image_number(p['gt_path'])) is not None
                         and first <= n <= last]
        if not dataset.paths:
            raise InputError(f"datasets.{phase}: no image numbered {first}..{last} "
                             f"(search.*_image_range) in {dataset_opt.get('dataroot_gt')}")
    return dataset, dataset_opt


def _plot_mode(value):
    """``search.plot``: true (redraw every epoch), false (never), or the loop's 'epoch' | 'end' | 'off'."""
    if isinstance(value, bool):
        return 'epoch' if value else 'off'
    return value  # anything else is checked by the loop with the allowed values in the message


def _prepare_experiment(exp_dir, auto_resume):
    exp_dir = Path(exp_dir)
    if exp_dir.exists() and not auto_resume and any(exp_dir.iterdir()):
        archived = exp_dir.with_name(f'{exp_dir.name}_archived_{time.strftime("%Y%m%d_%H%M%S")}')
        shutil.move(str(exp_dir), str(archived))  # BasicSR's convention: never overwrite an old run
    for sub in ('checkpoints', 'plots'):
        (exp_dir / sub).mkdir(parents=True, exist_ok=True)
    return exp_dir


def _build_task(opt, opt_path):
    """The SR ``SearchTask`` (its class is defined here: the loop module stays free of BasicSR)."""
    import torch
    from basicsr.archs import build_network
    from basicsr.losses import build_loss
    from basicsr.models import lr_scheduler

    from srnas.nas import SupernetMixin, distributed
    from srnas.nas.architects import build_architect
    from srnas.nas.search_loop import SearchTask
    from srnas.utils.errors import InputError

    class SRSearch(SearchTask):
        def __init__(self):
            self.device = distributed.device() if opt['num_gpu'] else torch.device('cpu')
            net = build_network(dict(opt['network_g']))
            if not isinstance(net, SupernetMixin) or not hasattr(net, 'genotype'):
                raise InputError(f"{opt_path}: option 'network_g.type': {opt['network_g'].get('type')!r} is not a "
                                 'searchable supernet (use SRNASDLSRSupernet or SRNASIMDNSupernet)')
            self.model, self.space = net.to(self.device), net.space
            train = opt['train']
            self.pixel_loss = build_loss(dict(train['pixel_opt'])).to(self.device)
            optim = {k: v for k, v in train['optim_g'].items() if k != 'type'}  # validated: Adam
            self.weight_optimizer = torch.optim.Adam(self.model.weights(), **optim)
            self.schedulers = []
            if train.get('scheduler'):
                sched = dict(train['scheduler'])
                kind = sched.pop('type')
                cls = lr_scheduler.CosineAnnealingRestartLR if kind == 'CosineAnnealingRestartLR' \
                    else lr_scheduler.MultiStepRestartLR
                self.schedulers.append(cls(self.weight_optimizer, **sched))
            self.grad_clip = train.get('grad_clip')
            self.architect = build_architect(self.model, self.batch_loss, opt['architect'] or {},
                                             weight_optimizer=self.weight_optimizer)
            search = opt['search']
            self.train_set, self.train_opt = _build_dataset(opt, 'train', search.get('train_image_range'))
            self.arch_set, self.arch_opt = _build_dataset(opt, 'train_arch', search.get('arch_image_range'))
            self.iters_per_epoch, self.total_iter = search['iters_per_epoch'], train['total_iter']

        def batch_loss(self, net, batch):
            return self.pixel_loss(net(batch['lq'].to(self.device)), batch['gt'].to(self.device))

        def _steps(self, epoch):
            return min(self.iters_per_epoch, self.total_iter - epoch * self.iters_per_epoch)

        def train_batches(self, epoch, seed):
            return _epoch_loader(self.train_set, self.train_opt, self._steps(epoch), seed)

        def arch_batches(self, epoch, seed):
            return _epoch_loader(self.arch_set, self.arch_opt, self._steps(epoch), seed)

        def weight_loss(self, batch):
            loss = self.batch_loss(self.net(), batch)
            return loss, {'l_pix': float(loss.detach())}

        def after_weight_step(self, iteration):
            if iteration > 1:  # BasicSR's update_learning_rate: one scheduler step per iteration after the first
                for scheduler in self.schedulers:
                    scheduler.step()

        def fingerprint(self):
            return {**super().fingerprint(), 'scale': opt['scale'], 'network_g': dict(opt['network_g']),
                    'iters_per_epoch': self.iters_per_epoch}

        def genotype_meta(self, genotype_json):
            return {'scale': opt['scale'], 'search_options': str(Path(opt_path).resolve()),
                    'supernet': dict(opt['network_g'])}

        def state_dict(self):
            return {**super().state_dict(), 'schedulers': [s.state_dict() for s in self.schedulers]}

        def load_state_dict(self, state):
            super().load_state_dict(state)
            for scheduler, saved in zip(self.schedulers, state['schedulers']):
                scheduler.load_state_dict(saved)

    return SRSearch()


def run_sr_search(opt_path, auto_resume=False, overrides=None, root=None, progress=True):
    """Run (or resume) an SR search through the shared loop; returns a summary dict (genotype, files, epochs)."""
    from srnas.basicsr_compat import register_plugins
    register_plugins()
    from srnas.nas import distributed, search_loop
    from srnas.nas.errors import NASConfigError
    from srnas.spaces.genotypes import GenotypeError
    from srnas.utils.errors import InputError

    distributed.init_from_env()  # under torchrun: join the process group before any tensor is placed
    opt = load_search_options(opt_path, overrides)
    search = opt['search']
    root = Path(root) if root else Path.cwd()
    exp_dir = root / 'experiments' / opt['name']
    if distributed.is_main():
        _prepare_experiment(exp_dir, auto_resume)
    distributed.barrier()
    if opt['train']['total_iter'] < 1:
        raise InputError(f'{opt_path}: nothing to search (train.total_iter is 0)')
    search_loop.seed_everything(opt['manual_seed'])  # alpha init and weight init
    try:
        task = _build_task(opt, opt_path)
        loop = search_loop.LoopOptions(
            epochs=math.ceil(opt['train']['total_iter'] / search['iters_per_epoch']), out_dir=exp_dir,
            seed=opt['manual_seed'], order=search.get('order', 'alpha_first'), select=search.get('select', 'last'),
            early_stopping_patience=search.get('early_stopping_patience'),
            keep_checkpoints=search.get('keep_checkpoints', 2),
            checkpoint_every_iters=search.get('checkpoint_every_iters'), nonfinite=search.get('nonfinite', 'skip'),
            plot=_plot_mode(search.get('plot', True)), amp=search.get('amp', 'none'),
            compile=search.get('compile', False),
            tensorboard_dir=root / 'tb_logger' / opt['name'] if (opt.get('logger') or {}).get('use_tb_logger') else None,
            progress=progress, log=(lambda line: print(line, flush=True)) if progress else (lambda line: None),
            warn=lambda line: print(line, file=sys.stderr, flush=True),  # shown even with --quiet
            log_every=(opt.get('logger') or {}).get('print_freq'),
            name=opt['name'], summary={'network': opt['network_g'], 'architect': opt['architect'], 'scale': opt['scale']})
        resume = search_loop.resume_candidates(exp_dir) if auto_resume else None  # newest first, with fallback
        result = search_loop.run_search(task, loop, resume=resume)
    except (NASConfigError, GenotypeError) as err:
        raise InputError(f'{opt_path}: {err}') from None
    return {**result, 'experiment_dir': exp_dir, 'scale': opt['scale']}
