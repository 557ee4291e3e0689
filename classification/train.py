"""Train a genotype from scratch (DARTS CIFAR/ImageNet networks or the NB201 TinyNetwork) and evaluate it.

DARTS protocol: SGD, cosine per epoch, auxiliary loss weight 0.4, drop-path
probability ramped linearly over the epochs, cutout, gradient clip 5.
NAS-Bench-201 protocol: Nesterov SGD lr 0.1, wd 5e-4, cosine, batch 256.
Output folder: ``log.txt``, ``metrics.jsonl``, ``checkpoints/`` (every epoch and,
with ``train.checkpoint_every_iters``, every N iterations; the newest
``train.keep_checkpoints`` kept; ``--auto_resume`` continues exactly from the
newest usable one, see ``srnas.nas.checkpoints``) and ``model_final.pth``
(weights + genotype + space, for ``eval``).
"""
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from classification.data.loaders import data_config, test_loader, train_test_loaders
from classification.models import build_eval_model, eval_space_config, forward_logits, genotype_from_json, \
    genotype_to_json, resolve_genotype
from classification.options import OptionError, section, upgrade_deprecated
from classification.search import evaluate
from classification.darts.eval_net import count_parameters
from classification.utils import RunContext, pick_device, reseed_loader, set_threads, topk_correct
from srnas.nas import checkpoints as ckpt
from srnas.nas.files import atomic_torch_save, atomic_write_text, write_mapping

TRAIN_DEFAULTS = {'epochs': 600, 'lr': 0.025, 'lr_min': 0.0, 'momentum': 0.9, 'weight_decay': 3e-4,
                  'nesterov': False, 'grad_clip': 5.0, 'scheduler': 'cosine', 'step_gamma': 0.97,
                  'label_smoothing': 0.0, 'max_steps_per_epoch': None, 'checkpoint_every_iters': None,
                  'keep_checkpoints': 2}


def _scheduler(optimizer, cfg):
    if cfg['scheduler'] == 'cosine':
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, int(cfg['epochs']), eta_min=cfg['lr_min'])
    if cfg['scheduler'] == 'step':  # DARTS ImageNet: lr * gamma every epoch
        return torch.optim.lr_scheduler.StepLR(optimizer, 1, gamma=cfg['step_gamma'])
    raise OptionError(f"train.scheduler must be 'cosine' or 'step', got {cfg['scheduler']!r}")


def run_train(opt, resume=None, auto_resume=False):
    space = eval_space_config(opt)
    data_cfg = data_config(opt.get('data'))
    cfg = section(opt, 'train', TRAIN_DEFAULTS)
    genotype = resolve_genotype(space['type'], opt.get('genotype'))
    run = RunContext(opt, 'train')
    seed, device, out_dir, log = run.seed, run.device, run.out_dir, run.log

    train_loader, eval_loader, n_classes = train_test_loaders(data_cfg, seed)
    model = build_eval_model(space, genotype, n_classes).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg['lr'], momentum=cfg['momentum'],
                                weight_decay=cfg['weight_decay'], nesterov=cfg['nesterov'])
    scheduler = _scheduler(optimizer, cfg)
    epochs = int(cfg['epochs'])
    for key in ('checkpoint_every_iters', 'keep_checkpoints'):
        value = cfg[key]
        if not (value is None and key == 'checkpoint_every_iters') and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise OptionError(f'train.{key} must be an integer >= 1{" or null" if key[0] == "c" else ""}, got {value!r}')
    folder = out_dir / 'checkpoints'
    folder.mkdir(parents=True, exist_ok=True)
    ckpt.remove_stale_temporaries(out_dir, folder)
    fingerprint = {'space': dict(space), 'genotype': genotype_to_json(space['type'], genotype),
                   'data': data_cfg['name'], 'classes': n_classes, 'seed': seed,
                   'max_steps_per_epoch': cfg['max_steps_per_epoch']}
    history, progress, test = [], None, None
    epoch, step, global_step = 0, 0, 0

    def apply(state):
        model.load_state_dict(state['model'])
        optimizer.load_state_dict(state['optimizer'])
        scheduler.load_state_dict(state['scheduler'])
        return state

    candidates = ([resume] if resume else ckpt.checkpoints_newest_first(folder) if auto_resume else [])
    if candidates:
        path, state = ckpt.load_first_usable(candidates, fingerprint, apply, log.info, set_aside=not resume)
        history, test, progress = list(state['history']), state.get('test'), state.get('progress')
        epoch = state['epoch'] if progress else state['epoch'] + 1
        if not progress:
            ckpt.set_rng_state(state['rng'])
        log.info(f"resumed from {path} at {'step %d of ' % progress['step'] if progress else ''}epoch {epoch + 1}")
    n_params = count_parameters(model)
    log.info(f"train {opt['name']}: {space['type']} genotype {genotype}, {n_params:,} params "
             f"(without auxiliary head), data {data_cfg['name']}, {epochs} epochs, device {device}")
    aux_weight = space.get('auxiliary_weight', 0.0) if space.get('auxiliary') else 0.0
    drop_path = space.get('drop_path_prob', 0.0)

    def save(at_epoch, at_step=None, at_progress=None):
        state = {'model': model.state_dict(), 'optimizer': optimizer.state_dict(), 'scheduler': scheduler.state_dict(),
                 'epoch': at_epoch, 'rng': ckpt.rng_state(), 'options': opt, 'fingerprint': fingerprint,
                 'history': history, 'test': test}
        if at_progress is not None:
            state['progress'] = at_progress
        ckpt.save_rotating(state, folder, at_epoch, at_step, cfg['keep_checkpoints'])

    every = cfg['checkpoint_every_iters']
    global_step = sum(record['steps'] for record in history)
    for epoch in range(epoch, epochs):
        reseed_loader(train_loader, seed, epoch)
        if hasattr(model, 'drop_path_prob'):
            model.drop_path_prob = drop_path * epoch / epochs
        model.train()
        t0 = time.time()
        seen, loss_sum, correct, step = 0, 0.0, 0, 0
        batches = iter(train_loader)
        if progress:  # mid-epoch resume: the same batches are drawn and dropped, then the RNGs set as saved
            for _ in range(progress['step']):
                next(batches)
            seen, loss_sum, correct, step = progress['seen'], progress['loss_sum'], progress['correct'], progress['step']
            ckpt.set_rng_state(progress['rng'])
            global_step += step
            progress = None
        for x, y in batches:
            if cfg['max_steps_per_epoch'] is not None and step >= cfg['max_steps_per_epoch']:
                break
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            logits, aux = forward_logits(model, x)
            loss = F.cross_entropy(logits, y, label_smoothing=cfg['label_smoothing'])
            if aux is not None and aux_weight:
                loss = loss + aux_weight * F.cross_entropy(aux, y, label_smoothing=cfg['label_smoothing'])
            loss.backward()
            if cfg['grad_clip']:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg['grad_clip'])
            optimizer.step()
            loss_sum += float(loss.detach()) * len(y)
            correct += topk_correct(logits.detach(), y, ks=(1,))[0]
            seen += len(y)
            step, global_step = step + 1, global_step + 1
            if every and global_step % every == 0:
                save(epoch, step, {'step': step, 'seen': seen, 'loss_sum': loss_sum, 'correct': correct,
                                   'rng': ckpt.rng_state()})
        scheduler.step()
        test = evaluate(model, eval_loader, device)
        record = {'epoch': epoch, 'train_loss': loss_sum / max(seen, 1), 'train_top1': 100.0 * correct / max(seen, 1),
                  'test_loss': test['loss'], 'test_top1': test['top1'], 'test_top5': test['top5'],
                  'lr': optimizer.param_groups[0]['lr'], 'steps': step, 'seconds': time.time() - t0}
        history.append(record)
        # rewritten whole from the checkpointed history: a resumed run never repeats a line
        atomic_write_text(out_dir / 'metrics.jsonl', ''.join(json.dumps(r) + '\n' for r in history))
        log.info(f"epoch {epoch + 1}/{epochs} train loss {record['train_loss']:.4f} acc {record['train_top1']:.2f} | "
                 f"test loss {test['loss']:.4f} top1 {test['top1']:.2f} top5 {test['top5']:.2f} | "
                 f"{record['seconds']:.1f}s")
        save(epoch)
    final = {'model': model.state_dict(), 'space': space, 'genotype': genotype_to_json(space['type'], genotype),
             'num_classes': n_classes, 'data': data_cfg['name'], 'params': n_params}
    atomic_torch_save(final, out_dir / 'model_final.pth')
    summary = {'params': n_params, 'test': test, 'genotype': genotype_to_json(space['type'], genotype)}
    write_mapping(out_dir / 'result.json', summary)
    log.info(f"final test top1 {test['top1'] if test else float('nan'):.2f}; model written to {out_dir / 'model_final.pth'}")
    return {'output_dir': out_dir, 'test': test, 'params': n_params, 'model': model}


def run_eval(opt, checkpoint=None):
    """Test accuracy of a ``model_final.pth`` written by ``train`` on ``data``'s test set."""
    checkpoint = checkpoint or opt.get('checkpoint')
    if not checkpoint or not Path(checkpoint).is_file():
        raise OptionError(f"eval needs an existing checkpoint (--checkpoint or 'checkpoint:'), got {checkpoint!r}")
    state = torch.load(checkpoint, map_location='cpu', weights_only=False)
    missing = [k for k in ('model', 'space', 'genotype', 'num_classes') if k not in state]
    if missing:
        raise OptionError(f'{checkpoint}: not a model_final.pth written by train (missing {missing})')
    space = state['space']
    stored = state['genotype']
    genotype = genotype_from_json(space['type'], stored)
    data_cfg = data_config(opt.get('data'))
    set_threads(opt.get('threads'))
    upgrade_deprecated(opt, opt.get('_source', 'options'))
    device = pick_device(opt.get('num_gpu', 'auto'))
    loader, n_classes = test_loader(data_cfg)
    if n_classes != state['num_classes']:
        raise OptionError(f"{checkpoint}: model has {state['num_classes']} classes, data.name "
                          f"'{data_cfg['name']}' has {n_classes}")
    model = build_eval_model(space, genotype, n_classes)
    model.load_state_dict(state['model'])
    model.to(device)
    result = evaluate(model, loader, device)
    result['params'] = count_parameters(model)
    result['genotype'] = stored
    bench = section(opt, 'benchmark', {'path': None, 'datasets': None, 'hp': '200'})
    if bench['path'] and space['type'] == 'nb201':  # what the benchmark recorded for this cell
        from classification.nb201.benchmark import open_benchmark
        answers = open_benchmark(bench['path']).query_all(genotype, hp=bench['hp'])
        result['benchmark'] = {d: {'valid': a['valid'], 'test': a['test'], 'index': a['index']}
                               for d, a in answers.items()}
    return result
