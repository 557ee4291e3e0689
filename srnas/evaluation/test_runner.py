"""``srnas test``: BasicSR's test pipeline plus a PSNR/SSIM table and the model's complexity.

Differences from ``basicsr.test.test_pipeline`` (all for robustness, the outputs are the same):
the option file is validated first; ``val.suffix`` may be omitted; test sets without GT are
super-resolved without metrics (BasicSR would crash); official IMDN or DLSR weights given as
``path.pretrain_network_g`` are converted to a BasicSR checkpoint on the fly.
"""
import logging
import os
from os import path as osp

import torch

from srnas.basicsr_compat import register_plugins
from srnas.utils.options import load_options
from srnas.utils.pipelines import basicsr_argv, patched_argv


def _convert_official_weights(opt):
    """Point ``pretrain_network_g`` at a converted copy when it holds official IMDN or DLSR weights."""
    from srnas.spaces.imdn_network import is_official_imdn_state_dict
    from srnas.nas.files import atomic_torch_save
    from srnas.spaces import dlsr_official
    from srnas.utils.checkpoint import read_state_dict
    weights = opt['path'].get('pretrain_network_g')
    if not weights:
        return
    from srnas.utils.errors import InputError
    try:
        raw = torch.load(weights, map_location='cpu')
    except Exception as exc:
        raise InputError(f"path.pretrain_network_g: cannot load {weights}: {exc}") from None
    if not isinstance(raw, dict):
        return
    state = read_state_dict(weights)  # official IMDN keys come back converted
    if dlsr_official.is_official_dlsr_state_dict(state):
        if float(opt['network_g'].get('img_range', 1)) != 255:
            raise InputError(f'path.pretrain_network_g: {weights} holds DLSR reference weights, trained on 0..255 '
                             'pixels: set network_g.img_range: 255')
        try:
            state = dlsr_official.convert_official_dlsr_state_dict(state, dlsr_official.read_cell_ops(state))
        except dlsr_official.DLSRCheckpointError as err:
            raise InputError(f'path.pretrain_network_g: {weights}: {err}') from None
    elif not is_official_imdn_state_dict(raw):
        return
    converted = osp.join(opt['path']['results_root'], 'converted_' + osp.basename(weights))
    atomic_torch_save({'params': state}, converted)
    opt['path']['pretrain_network_g'] = converted
    opt['path']['param_key_g'] = 'params'


def run_test(opt_path, root_path=None, overrides=None):
    """Run every ``datasets.test_*`` set; returns {'metrics': {set: {metric: mean}}, 'complexity': {...}}."""
    register_plugins()
    load_options(opt_path, is_train=False, overrides=overrides)
    root_path = os.path.abspath(root_path or os.getcwd())
    from basicsr.data import build_dataloader, build_dataset
    from basicsr.models import build_model
    from basicsr.utils import get_env_info, get_root_logger, get_time_str, make_exp_dirs
    from basicsr.utils.options import dict2str, parse_options
    from srnas.evaluation.complexity import complexity_report

    with patched_argv(basicsr_argv(opt_path, overrides=overrides)):
        opt, _ = parse_options(root_path, is_train=False)
    opt['val'] = opt.get('val') or {}
    opt['val'].setdefault('suffix', None)
    opt['val'].setdefault('save_img', False)
    make_exp_dirs(opt)
    log_file = osp.join(opt['path']['log'], f"test_{opt['name']}_{get_time_str()}.log")
    logger = get_root_logger(logger_name='basicsr', log_level=logging.INFO, log_file=log_file)
    logger.info(get_env_info())
    logger.info(dict2str(opt))
    _convert_official_weights(opt)

    loaders = []
    for _, dataset_opt in sorted(opt['datasets'].items()):
        dataset = build_dataset(dataset_opt)
        loaders.append(build_dataloader(dataset, dataset_opt, num_gpu=opt['num_gpu'], dist=opt['dist'],
                                        sampler=None, seed=opt['manual_seed']))
        logger.info(f"Number of test images in {dataset_opt['name']}: {len(dataset)}")
    model = build_model(opt)
    metrics_opt = opt['val'].get('metrics')
    results = {}
    for loader in loaders:
        set_name = loader.dataset.opt['name']
        has_gt = loader.dataset.opt.get('dataroot_gt') is not None
        logger.info(f'Testing {set_name}...')
        model.opt['val']['metrics'] = metrics_opt if has_gt else None
        model.validation(loader, current_iter=opt['name'], tb_logger=None, save_img=opt['val']['save_img'])
        if has_gt and metrics_opt:
            results[set_name] = dict(model.metric_results)
    model.opt['val']['metrics'] = metrics_opt
    net = model.get_bare_model(model.net_g)
    report = complexity_report(net, opt['scale'], num_in_ch=opt['network_g'].get('num_in_ch', 3))
    return {'metrics': results, 'complexity': report, 'name': opt['name'], 'scale': opt['scale'],
            'results_root': opt['path']['results_root']}


def format_test_report(report):
    """Table: one row per test set with every metric, then the complexity line."""
    from srnas.evaluation.complexity import format_complexity
    lines = [f"{report['name']} (x{report['scale']})"]
    metrics = report['metrics']
    names = list(dict.fromkeys(m for per_set in metrics.values() for m in per_set))  # first-seen order
    if metrics:
        lines.append('| Set | ' + ' | '.join(n.upper() if n in ('psnr', 'ssim') else n for n in names) + ' |')
        lines.append('|---|' + '---|' * len(names))
        for set_name, per_set in metrics.items():
            cells = [_fmt(n, per_set.get(n)) for n in names]
            lines.append(f'| {set_name} | ' + ' | '.join(cells) + ' |')
    lines.append(format_complexity(report['complexity']))
    lines.append(f"Images: {osp.join(report['results_root'], 'visualization')}")
    return '\n'.join(lines)


def _fmt(name, value):
    if value is None:
        return '-'
    return f'{value:.4f}' if 'ssim' in name else f'{value:.2f}'
