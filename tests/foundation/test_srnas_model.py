"""SRNASModel: any torch.optim optimizer and gradient clipping, on top of BasicSR's SRModel."""
import copy

import pytest
import torch

from srnas.utils.errors import InputError
from srnas.utils.options import load_options

from tests.foundation.helpers import random_pairs, train_options, write_yaml


def _model_opt(grad_clip):
    return {
        'name': 'm', 'model_type': 'SRNASModel', 'scale': 2, 'num_gpu': 0, 'is_train': True, 'dist': False,
        'network_g': {'type': 'SRNASIMDN', 'upscale': 2, 'num_feat': 16, 'num_blocks': 1},
        'path': {'pretrain_network_g': None},
        'train': {'ema_decay': 0, 'optim_g': {'type': 'AdamW', 'lr': 1e-3, 'weight_decay': 0.05},
                  'scheduler': {'type': 'MultiStepLR', 'milestones': [10], 'gamma': 0.5},
                  'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0}, 'grad_clip': grad_clip},
    }


def test_adamw_and_gradient_clipping():
    from srnas.basicsr_compat import register_plugins
    register_plugins()
    from srnas.models.srnas_sr_model import SRNASModel
    torch.manual_seed(0)
    model = SRNASModel(_model_opt(grad_clip=1e-3))
    assert type(model.optimizer_g) is torch.optim.AdamW
    assert model.optimizer_g.param_groups[0]['weight_decay'] == 0.05
    model.feed_data({'lq': torch.rand(2, 3, 8, 8), 'gt': torch.rand(2, 3, 16, 16)})
    model.optimize_parameters(1)
    grads = [p.grad for p in model.net_g.parameters() if p.grad is not None]
    assert torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])) <= 1e-3 * 1.0001
    assert model.get_current_log()['l_pix'] > 0


def test_unknown_optimizer_and_bad_clip_are_reported(tmp_path):
    gt, lq = random_pairs(tmp_path / 'train', 2)
    vgt, vlq = random_pairs(tmp_path / 'val', 2, sizes=((12, 10),))
    opt = train_options(gt, lq, vgt, vlq, model_type='SRNASModel')
    opt['train']['optim_g']['type'] = 'AdamW'
    load_options(write_yaml(tmp_path / 'ok.yml', opt))
    bad = copy.deepcopy(opt)
    bad['train']['optim_g']['type'] = 'Adamm'
    with pytest.raises(InputError, match="train.optim_g.type.*'Adamm'"):
        load_options(write_yaml(tmp_path / 'bad.yml', bad))
    bad = copy.deepcopy(opt)
    bad['train']['grad_clip'] = -1
    with pytest.raises(InputError, match='train.grad_clip'):
        load_options(write_yaml(tmp_path / 'bad.yml', bad))
    plain = copy.deepcopy(opt)
    plain['model_type'] = 'SRModel'
    with pytest.raises(InputError, match="only 'Adam'"):
        load_options(write_yaml(tmp_path / 'bad.yml', plain))
