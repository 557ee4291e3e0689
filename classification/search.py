"""Bi-level differentiable search on the DARTS or NAS-Bench-201 space with the shared ``Architect``.

Per step: one alpha step on an alpha-half batch (first order, second order or
A2M, regularisers inside the architect), then one SGD step of the weights on
a train-half batch. Per epoch: validation loss/accuracy, the derived
genotype, softmax(alpha), and (NB201 with ``benchmark.path``) the benchmark
accuracies of the genotype. Output folder: ``log.txt``, ``metrics.jsonl``,
``genotype.json`` (the final choice), ``checkpoint.pth`` (resumable).
"""
import time

import torch
import torch.nn.functional as F

from classification.data.errors import DataError
from classification.data.loaders import data_config, search_loaders
from classification.models import build_search_model, forward_logits, save_genotype, search_space_config
from classification.nb201.benchmark import DATASETS as BENCH_DATASETS
from classification.nb201.benchmark import BenchmarkError, open_benchmark
from classification.options import OptionError, section
from classification.utils import RunContext, reseed_loader, rng_state, set_rng_state, topk_correct
from srnas.nas.architects import build_architect
from srnas.nas.files import atomic_torch_save
from srnas.nas.recorder import AlphaRecorder

TRAIN_DEFAULTS = {'epochs': 50, 'lr': 0.025, 'lr_min': 0.001, 'momentum': 0.9, 'weight_decay': 3e-4,
                  'nesterov': False, 'grad_clip': 5.0, 'max_steps_per_epoch': None}
SEARCH_DEFAULTS = {'select': 'last', 'early_stopping_patience': None, 'order': 'alpha_first'}
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


def _genotype_text(genotype):
    return genotype if isinstance(genotype, str) else repr(genotype)


def run_search(opt, resume=None):
    space = search_space_config(opt)
    data_cfg = data_config(opt.get('data'))
    train_cfg = section(opt, 'train', TRAIN_DEFAULTS)
    search_cfg = section(opt, 'search', SEARCH_DEFAULTS)
    bench_cfg = section(opt, 'benchmark', BENCH_DEFAULTS)
    if search_cfg['select'] not in ('last', 'best_val_loss'):
        raise OptionError(f"search.select must be 'last' or 'best_val_loss', got {search_cfg['select']!r}")
    if search_cfg['order'] not in ('alpha_first', 'weights_first'):
        raise OptionError(f"search.order must be 'alpha_first' or 'weights_first', got {search_cfg['order']!r}")
    run = RunContext(opt, 'search')
    seed, device, out_dir, log, metrics = run.seed, run.device, run.out_dir, run.log, run.metrics

    train_loader, alpha_loader, valid_loader, n_classes = search_loaders(data_cfg, seed)
    model = build_search_model(space, n_classes).to(device)
    w_opt = torch.optim.SGD(model.weights(), lr=train_cfg['lr'], momentum=train_cfg['momentum'],
                            weight_decay=train_cfg['weight_decay'], nesterov=train_cfg['nesterov'])
    epochs = int(train_cfg['epochs'])
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(w_opt, epochs, eta_min=train_cfg['lr_min'])

    def loss_fn(net, batch):
        return classification_loss(net, _move(batch, device))

    architect = build_architect(model, loss_fn, opt.get('architect'), weight_optimizer=w_opt)
    benchmark = None
    if bench_cfg['path']:
        if space['type'] != 'nb201':
            raise OptionError('benchmark.path is only used with space.type nb201')
        benchmark = open_benchmark(bench_cfg['path'])

    start_epoch = 0
    recorder = AlphaRecorder()
    ckpt_path = out_dir / 'checkpoint.pth'
    if resume:
        state = torch.load(resume, map_location=device, weights_only=False)
        model.load_state_dict(state['model'])
        w_opt.load_state_dict(state['weight_optimizer'])
        scheduler.load_state_dict(state['scheduler'])
        architect.load_state_dict(state['architect'])
        recorder.entries = state['alpha_record']
        start_epoch = state['epoch'] + 1
        set_rng_state(state['rng'])
        log.info(f'resumed from {resume} at epoch {start_epoch}')

    n_weights = sum(p.numel() for p in model.weights())
    log.info(f"search {opt['name']}: space {space['type']} ({n_weights:,} weights), data {data_cfg['name']} "
             f"({len(train_loader.dataset)} train / {len(alpha_loader.dataset)} alpha images), "
             f"architect {architect.kind}, device {device}")
    genotypes = {}
    genotype = model.genotype()
    for epoch in range(start_epoch, epochs):
        reseed_loader(train_loader, seed, epoch, stream=0)
        reseed_loader(alpha_loader, seed, epoch, stream=1)
        model.train()
        t0 = time.time()
        seen, loss_sum, correct, alpha_steps = 0, 0.0, 0, 0
        norm_sums = {}
        alpha_iter = _endless(alpha_loader)
        for step, train_batch in enumerate(train_loader):
            if train_cfg['max_steps_per_epoch'] is not None and step >= train_cfg['max_steps_per_epoch']:
                break
            if search_cfg['order'] == 'weights_first':
                loss, logits, y = _weight_step(model, w_opt, train_batch, device, train_cfg['grad_clip'])
            result = architect.step(next(alpha_iter), epoch, train_batch=train_batch)
            alpha_steps += int(result.get('updated', False))
            for key, value in architect.last_grad_norms.items():
                norm_sums[key] = norm_sums.get(key, 0.0) + value
            if search_cfg['order'] == 'alpha_first':
                loss, logits, y = _weight_step(model, w_opt, train_batch, device, train_cfg['grad_clip'])
            loss_sum += float(loss) * len(y)
            correct += topk_correct(logits, y, ks=(1,))[0]
            seen += len(y)
        scheduler.step()
        valid = evaluate(model, valid_loader, device)
        genotype = model.genotype()
        genotypes[epoch] = genotype
        recorder.record(epoch, model, genotype=_genotype_text(genotype), val_loss=valid['loss'])
        record = {'epoch': epoch, 'train_loss': loss_sum / max(seen, 1), 'train_top1': 100.0 * correct / max(seen, 1),
                  'valid_loss': valid['loss'], 'valid_top1': valid['top1'], 'alpha_steps': alpha_steps,
                  'lr': w_opt.param_groups[0]['lr'], 'seconds': time.time() - t0,
                  'genotype': _genotype_text(genotype),
                  # mean per-term alpha-gradient norms of the epoch's architect steps (Architect.last_grad_norms)
                  'alpha_grad_norms': {k: v / max(alpha_steps, 1) for k, v in norm_sums.items()}}
        log.info(f"epoch {epoch + 1}/{epochs} train loss {record['train_loss']:.4f} acc {record['train_top1']:.2f} | "
                 f"valid loss {valid['loss']:.4f} acc {valid['top1']:.2f} | {record['seconds']:.1f}s | "
                 f"genotype {record['genotype']}")
        if norm_sums:
            log.info('  |grad alpha| ' + ', '.join(f'{k} {v:.3g}' for k, v in record['alpha_grad_norms'].items()))
        if benchmark is not None:
            record['benchmark'] = _query_benchmark(benchmark, genotype, bench_cfg, log)
        metrics.write(record)
        recorder.save(out_dir / 'alpha_history.json')
        atomic_torch_save({'model': model.state_dict(), 'weight_optimizer': w_opt.state_dict(),
                           'scheduler': scheduler.state_dict(), 'architect': architect.state_dict(),
                           'epoch': epoch, 'alpha_record': recorder.entries, 'genotype': genotype,
                           'rng': rng_state(),
                           'options': opt}, ckpt_path)
        patience = search_cfg['early_stopping_patience']
        if patience is not None and recorder.should_stop(patience):
            log.info(f'early stopping: validation loss did not improve for {patience} epochs')
            break

    final, chosen_epoch = genotype, recorder.entries[-1]['epoch'] if recorder.entries else None
    if search_cfg['select'] == 'best_val_loss' and recorder.best_by_val_loss() is not None:
        chosen_epoch = recorder.best_by_val_loss()['epoch']
        final = genotypes.get(chosen_epoch) or _from_text(space['type'], recorder.best_by_val_loss()['genotype'])
    extra = {'selected_by': search_cfg['select'], 'epoch': chosen_epoch,
             'stable_since_epoch': recorder.genotype_stable_since(), 'options': opt.get('_source')}
    if benchmark is not None:
        extra['benchmark'] = _query_benchmark(benchmark, final, bench_cfg, log)
    path = save_genotype(space['type'], final, out_dir / 'genotype.json', **extra)
    _plot_alphas(recorder, out_dir, log)
    shown = 'none' if chosen_epoch is None else f'{chosen_epoch + 1}/{epochs}'
    log.info(f'genotype (epoch {shown}, by {search_cfg["select"]}) written to {path}: {_genotype_text(final)}')
    return {'genotype': final, 'genotype_path': path, 'output_dir': out_dir, 'recorder': recorder}


def _from_text(kind, text):
    """A genotype recorded as text (before a resume) back as an object."""
    from classification.darts.genotypes import parse
    return text if kind == 'nb201' else parse(text)


def _plot_alphas(recorder, out_dir, log):
    """softmax(alpha) vs epoch for the first edge of every arch parameter (SA-DARTS Fig. 2 style)."""
    if len(recorder.entries) < 2:
        return
    for name in recorder.entries[-1]['probs']:
        try:
            recorder.plot(out_dir / f'alpha_{name}_edge0.png', name, row=0)
        except Exception as err:  # a plot must never lose a finished search
            log.info(f'could not plot {name}: {err}')


def _endless(loader):
    """Batches of ``loader`` forever, re-shuffled and re-augmented on every pass (unlike itertools.cycle)."""
    while True:
        yielded = False
        for batch in loader:
            yielded = True
            yield batch
        if not yielded:
            raise DataError('the alpha data loader is empty (data.subset or the split leaves no images)')


def _weight_step(model, w_opt, batch, device, grad_clip):
    x, y = _move(batch, device)
    w_opt.zero_grad(set_to_none=True)
    logits, _ = forward_logits(model, x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.weights(), grad_clip)
    w_opt.step()
    # The architect's passes leave alpha grads alone, but the weight loss fills them: clear them.
    for alpha in model.arch_parameters():
        alpha.grad = None
    return loss.detach(), logits.detach(), y


def _query_benchmark(benchmark, arch, cfg, log):
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
    log.info(f"  benchmark (hp {cfg['hp']}, valid/test): {text}")
    return answers
