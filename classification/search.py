"""Bi-level differentiable search on the DARTS or NAS-Bench-201 space: the classification adapter of the loop.

``srnas.nas.search_loop`` runs the search (seeding, step order, warm-up,
logs, genotype file, plots, checkpoints, early stopping); this module brings
the supernet, the data (weights on one half of the training set, alpha on the
other), cross-entropy, SGD with a cosine schedule, the per-epoch validation
accuracy and (NB201 with ``benchmark.path``) the benchmark accuracies of the
derived cell. Output folder: ``log.txt``, ``metrics.jsonl``, ``search_log.json``,
``alpha_history.json``, ``genotype.json``, ``plots/``, ``checkpoints/``.
"""
import itertools

import torch
import torch.nn.functional as F

from classification.data.errors import DataError
from classification.data.loaders import data_config, search_loaders
from classification.models import build_search_model, forward_logits, search_space_config, space_record
from classification.nb201.benchmark import DATASETS as BENCH_DATASETS
from classification.nb201.benchmark import BenchmarkError, open_benchmark
from classification.options import OptionError, section
from classification.utils import RunContext, topk_correct
from srnas.nas.architects import build_architect
from srnas.nas.precision import check_amp
from srnas.nas import distributed, search_loop
from srnas.nas.search_loop import LoopOptions, SearchTask, resume_candidates
from srnas.nas.layout import padded_avg_pool_backward_is_right

TRAIN_DEFAULTS = {'epochs': 50, 'lr': 0.025, 'lr_min': 0.001, 'momentum': 0.9, 'weight_decay': 3e-4,
                  'nesterov': False, 'grad_clip': 5.0, 'max_steps_per_epoch': None}
SEARCH_DEFAULTS = {'select': 'last', 'early_stopping_patience': None, 'order': 'alpha_first',
                   'checkpoint_every_iters': None, 'nonfinite': 'skip', 'amp': 'none', 'compile': False}
# amp: none | bf16 | fp16 (CUDA): mixed precision of the weight step, first-order alpha steps and validation
# select: last | best_val_loss (A2M: the genotype of the epoch with the lowest validation loss)
BENCH_DEFAULTS = {'path': None, 'datasets': list(BENCH_DATASETS), 'hp': '200'}


def _move(batch, device):
    x, y = batch
    return x.to(device, non_blocking=True), y.to(device, non_blocking=True)


def classification_loss(model, batch):
    """Cross-entropy of the supernet on one (x, y) batch (the architect's ``loss_fn``)."""
    x, y = batch
    logits, _ = forward_logits(model, x)
    return F.cross_entropy(logits, y)


@torch.no_grad()
def evaluate(model, loader, device, max_batches=None):
    model.eval()
    total, loss_sum, top1, top5 = 0, 0.0, 0, 0
    for i, batch in enumerate(loader):
        if max_batches is not None and i >= max_batches:
            break
        x, y = _move(batch, device)
        logits, _ = forward_logits(model, x)
        loss_sum += float(F.cross_entropy(logits, y, reduction='sum'))
        c1, c5 = topk_correct(logits, y)
        top1, top5, total = top1 + c1, top5 + c5, total + len(y)
    return {'loss': loss_sum / max(total, 1), 'top1': 100.0 * top1 / max(total, 1), 'top5': 100.0 * top5 / max(total, 1)}


class ClassificationSearch(SearchTask):
    """The classification side of ``srnas.nas.search_loop``: supernet, CIFAR-style data, cross-entropy."""

    def __init__(self, opt, space, data_cfg, train_cfg, bench_cfg, run):
        self.space, self.device, self.log = space['type'], run.device, run.log
        self.record = space_record(self.space)
        self.max_steps = train_cfg['max_steps_per_epoch']
        self.train_loader, self.alpha_loader, self.valid_loader, n_classes = search_loaders(data_cfg, run.seed)
        # under torchrun each rank reads its share of every global batch (data.batch_size is the global batch)
        self.train_loader = distributed.shard_loader(self.train_loader, 'data.batch_size')
        self.alpha_loader = distributed.shard_loader(self.alpha_loader, 'data.batch_size')
        self.model = build_search_model(space, n_classes).to(self.device)
        self.weight_optimizer = torch.optim.SGD(self.model.weights(), lr=train_cfg['lr'],
                                                momentum=train_cfg['momentum'],
                                                weight_decay=train_cfg['weight_decay'], nesterov=train_cfg['nesterov'])
        self.grad_clip = train_cfg['grad_clip']
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.weight_optimizer, int(train_cfg['epochs']),
                                                                    eta_min=train_cfg['lr_min'])
        self.architect = build_architect(self.model, lambda net, batch: classification_loss(net, _move(batch, self.device)),
                                         opt.get('architect'), weight_optimizer=self.weight_optimizer)
        self.bench_cfg, self.benchmark = bench_cfg, None
        if bench_cfg['path']:
            if self.space != 'nb201':
                raise OptionError('benchmark.path is only used with space.type nb201')
            self.benchmark = open_benchmark(bench_cfg['path'])
        self.seen, self.loss_sum, self.correct = 0, 0.0, 0

    def train_batches(self, epoch, seed):
        self.seen, self.loss_sum, self.correct = 0, 0.0, 0
        self.train_loader.generator.manual_seed(seed)
        return itertools.islice(self.train_loader, self.max_steps)

    def arch_batches(self, epoch, seed):
        self.alpha_loader.generator.manual_seed(seed)
        return _endless(self.alpha_loader)

    def weight_loss(self, batch):
        x, y = _move(batch, self.device)
        logits, _ = forward_logits(self.net(), x)
        loss = F.cross_entropy(logits, y)
        self.loss_sum += float(loss.detach()) * len(y)
        self.correct += topk_correct(logits.detach(), y, ks=(1,))[0]
        self.seen += len(y)
        return loss, {'l_ce': float(loss.detach())}

    def end_epoch(self, epoch):
        self.scheduler.step()

    def evaluate(self, epoch):
        valid = evaluate(self.model, self.valid_loader, self.device)
        record = {'train_loss': self.loss_sum / max(self.seen, 1), 'train_top1': 100.0 * self.correct / max(self.seen, 1),
                  'valid_loss': valid['loss'], 'valid_top1': valid['top1']}
        if self.benchmark is not None:
            record['benchmark'] = _query_benchmark(self.benchmark, self.model.genotype(), self.bench_cfg, self.log)
        return record

    def genotype_json(self, genotype):
        return self.record.to_json(genotype)

    def genotype_log(self, genotype):
        return genotype if isinstance(genotype, str) else repr(genotype)

    def genotype_meta(self, genotype_json):
        genotype = self.record.from_json(genotype_json)
        meta = self.record.meta(genotype)
        if self.benchmark is not None:
            meta['benchmark'] = _query_benchmark(self.benchmark, genotype, self.bench_cfg)
        return meta

    def state_dict(self):
        return {**super().state_dict(), 'scheduler': self.scheduler.state_dict()}

    def epoch_state(self):
        return {'seen': self.seen, 'loss_sum': self.loss_sum, 'correct': self.correct}

    def load_epoch_state(self, state):
        self.seen, self.loss_sum, self.correct = state['seen'], state['loss_sum'], state['correct']

    def fingerprint(self):
        return {**super().fingerprint(), 'max_steps_per_epoch': self.max_steps}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.scheduler.load_state_dict(state['scheduler'])


def check_layout_on_device(space, device):
    """``space.channels_last`` needs a PyTorch whose channels_last avg_pool2d backward is right on ``device``:
    the DARTS and NB201 ``avg_pool_3x3`` candidates pool with padding, which CUDA got wrong before the fix of
    pytorch/pytorch#188344 (srnas.nas.layout.padded_avg_pool_backward_is_right, a microsecond probe)."""
    if space.get('channels_last') and not padded_avg_pool_backward_is_right(device):
        raise OptionError(f'space.channels_last: PyTorch {torch.__version__} computes the channels_last backward '
                          f'of avg_pool2d with padding wrong on {device} (pytorch/pytorch#188344, fixed by PR '
                          '#188345), so the supernet\'s gradients would be wrong; leave it false here, or use a '
                          'PyTorch with the fix')


def run_classification_search(opt, resume=None, auto_resume=False):
    """Search on the DARTS / NB201 space through the shared loop; ``resume``: a checkpoint path."""
    space = search_space_config(opt)
    data_cfg = data_config(opt.get('data'))
    train_cfg = section(opt, 'train', TRAIN_DEFAULTS)
    search_cfg = section(opt, 'search', SEARCH_DEFAULTS)
    bench_cfg = section(opt, 'benchmark', BENCH_DEFAULTS)
    run = RunContext(opt, 'search')
    check_amp(search_cfg['amp'], run.device, 'search.amp')
    check_layout_on_device(space, run.device)
    task = ClassificationSearch(opt, space, data_cfg, train_cfg, bench_cfg, run)
    n_weights = sum(p.numel() for p in task.model.weights())
    run.log.info(f"search {opt['name']}: space {space['type']} ({n_weights:,} weights), data {data_cfg['name']} "
                 f"({len(task.train_loader.dataset)} train / {len(task.alpha_loader.dataset)} alpha images), "
                 f"architect {task.architect.kind}, device {run.device}")
    loop = LoopOptions(epochs=int(train_cfg['epochs']), out_dir=run.out_dir, seed=run.seed,
                       order=search_cfg['order'], select=search_cfg['select'],
                       early_stopping_patience=search_cfg['early_stopping_patience'], log=run.log.info,
                       checkpoint_every_iters=search_cfg['checkpoint_every_iters'], nonfinite=search_cfg['nonfinite'],
                       amp=search_cfg['amp'], compile=search_cfg['compile'],
                       name=opt['name'], summary={'options': opt.get('_source')})
    if resume is None and auto_resume:
        resume = resume_candidates(run.out_dir)  # newest first: an unusable one falls back to the previous
    result = search_loop.run_search(task, loop, resume=resume)
    result['genotype'] = task.record.from_json(result['genotype'])
    result['genotype_path'] = result['genotype_file']
    run.log.info(f"genotype (epoch {result['selected_epoch'] + 1}/{loop.epochs}, by {loop.select}) written to "
                 f"{result['genotype_file']}: {task.genotype_log(result['genotype'])}")
    return result


def _endless(loader):
    """Batches of ``loader`` forever, re-shuffled and re-augmented on every pass (unlike itertools.cycle)."""
    while True:
        yielded = False
        for batch in loader:
            yielded = True
            yield batch
        if not yielded:
            raise DataError('the alpha data loader is empty (data.subset or the split leaves no images)')


def _query_benchmark(benchmark, arch, cfg, log=None):
    answers = {}
    for dataset in cfg['datasets']:
        try:
            q = benchmark.query(arch, dataset, hp=cfg['hp'])
        except BenchmarkError as err:
            answers[dataset] = {'error': str(err)}
            continue
        answers[dataset] = {'valid': q['valid'], 'test': q['test'], 'index': q['index']}
    text = ', '.join(f"{d} {a['valid']:.2f}/{a['test']:.2f}" if 'test' in a else f'{d} n/a'
                     for d, a in answers.items())
    if log is not None:
        log.info(f"  benchmark (hp {cfg['hp']}, valid/test): {text}")
    return answers
