"""``SRNASSearchModel``: one bi-level search step on an SR supernet (DLSR or IMDN space).

Per iteration (DARTS order): the architect moves alpha (and the DLSR betas)
on a batch of the architecture split, unless still in warm-up, then the
weights take one optimizer step on a training batch. With the architect's
``step_order: weights_first`` (the DLSR reference) the weight step comes first. Architect type
(first order, second order, A2M) and regularisers (SA, beta, FLOPs, L2) come
from the ``architect`` section of the YAML (srnas.nas.architects).

The loop around it (epochs, data, logs, checkpoints) is ``srnas search``
(srnas/commands/search.py).
"""
import torch

from srnas.basicsr_compat import import_basicsr

import_basicsr()
from basicsr.archs import build_network  # noqa: E402
from basicsr.losses import build_loss  # noqa: E402
from basicsr.models.base_model import BaseModel  # noqa: E402
from basicsr.utils.registry import MODEL_REGISTRY  # noqa: E402

from srnas.nas import SupernetMixin  # noqa: E402
from srnas.nas.architects import build_architect  # noqa: E402
from srnas.utils.errors import InputError  # noqa: E402


@MODEL_REGISTRY.register()
class SRNASSearchModel(BaseModel):
    """Weights + architecture of a supernet, stepped together.

    Options read: ``network_g`` (a supernet: SRNASDLSRSupernet / SRNASIMDNSupernet),
    ``train.optim_g`` (Adam on the weights only), ``train.scheduler``,
    ``train.pixel_opt`` (L1), ``train.grad_clip`` (optional max norm of the
    weight gradient) and ``architect`` (type, optimizer, regularizers, warm-up,
    ...). ``search`` holds the loop options (see srnas search).
    """

    EXTRA_OPTION_KEYS = {'': {'search', 'architect'}, 'train': {'grad_clip'}}

    def __init__(self, opt):
        super().__init__(opt)
        net = build_network(opt['network_g'])
        if not isinstance(net, SupernetMixin) or not hasattr(net, 'genotype'):
            raise InputError(f"network_g.type {opt['network_g'].get('type')!r} is not a searchable supernet "
                             '(use SRNASDLSRSupernet or SRNASIMDNSupernet)')
        self.net_g = net.to(self.device)
        self.net_g.train()
        train_opt = opt['train']
        self.cri_pix = build_loss(train_opt['pixel_opt']).to(self.device)
        optim_opt = dict(train_opt['optim_g'])
        optim_type = optim_opt.pop('type')
        self.optimizer_g = self.get_optimizer(optim_type, self.net_g.weights(), **optim_opt)
        self.optimizers.append(self.optimizer_g)
        if train_opt.get('scheduler'):
            self.setup_schedulers()
        self.grad_clip = train_opt.get('grad_clip')
        self.architect = build_architect(self.net_g, self.batch_loss, opt.get('architect') or {},
                                         weight_optimizer=self.optimizer_g)
        self.log_dict = {}

    # ------------------------------------------------------------------------------------------
    def batch_loss(self, net, batch):
        """Pixel loss of ``net`` on one (lq, gt) batch; the architect calls it too."""
        lq, gt = batch['lq'].to(self.device), batch['gt'].to(self.device)
        return self.cri_pix(net(lq), gt)

    def optimize_parameters(self, current_iter, train_batch, arch_batch, epoch):
        """One architecture step (after warm-up) and one weight step; returns a log dict."""
        log = {}
        weights_first = self.architect.step_order == 'weights_first'
        if not weights_first:
            self._arch_step(train_batch, arch_batch, epoch, log)
        self._weight_step(current_iter, train_batch, log)
        if weights_first:
            self._arch_step(train_batch, arch_batch, epoch, log)
        self.log_dict = log
        return log

    def _arch_step(self, train_batch, arch_batch, epoch, log):
        if arch_batch is not None and self.architect.is_active(epoch):
            arch_log = self.architect.step(arch_batch, epoch, train_batch=train_batch)
            if arch_log.get('updated'):
                log['l_arch'] = arch_log['val_loss']
                log['alpha_grad_norm'] = arch_log['alpha_grad_norm']

    def _weight_step(self, current_iter, train_batch, log):
        self.optimizer_g.zero_grad(set_to_none=True)
        loss = self.batch_loss(self.net_g, train_batch)
        loss.backward()
        if self.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.net_g.weights(), self.grad_clip)
        self.optimizer_g.step()
        # Alpha must only move by the architect: drop the grads the weight loss left on it.
        for alpha in self.net_g.arch_parameters():
            alpha.grad = None
        if self.schedulers:
            self.update_learning_rate(current_iter)
        log['l_pix'] = float(loss.detach())

    def genotype(self):
        return self.net_g.genotype()

    def arch_probabilities(self):
        return self.net_g.arch_probabilities()

    # ------------------------------------------------------------------------------------------
    def search_state(self):
        """Everything a resumed search needs (weights, alpha, both optimizers, schedulers)."""
        return {
            'net': self.net_g.state_dict(),
            'optimizer_g': self.optimizer_g.state_dict(),
            'schedulers': [s.state_dict() for s in self.schedulers],
            'architect': self.architect.state_dict(),
        }

    def load_search_state(self, state):
        self.net_g.load_state_dict(state['net'])
        self.optimizer_g.load_state_dict(state['optimizer_g'])
        for scheduler, saved in zip(self.schedulers, state['schedulers']):
            scheduler.load_state_dict(saved)
        self.architect.load_state_dict(state['architect'])
