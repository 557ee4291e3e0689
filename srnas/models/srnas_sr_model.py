"""``SRNASModel``: BasicSR's ``SRModel`` with the training options lightweight-SR recipes ask for.

* ``train.optim_g.type`` may name any ``torch.optim`` optimizer (BasicSR 1.4.2 accepts only Adam),
  e.g. ``AdamW`` or ``SGD``.
* ``train.grad_clip``: optional max L2 norm of the weight gradient (DLSR's retraining clips at 50).
* ``train.amp``: ``none`` | ``bf16`` | ``fp16`` (CUDA): mixed precision for training and validation
  (``srnas.nas.precision``); with fp16 the GradScaler's state (scale, growth tracker) is saved in the
  ``training_states/<iter>.state`` file under ``grad_scaler`` and restored on resume, which BasicSR's
  state does not hold (other modes write BasicSR's state unchanged).

Everything else (losses, EMA, validation, checkpoints) is SRModel's.
"""
import os
from collections import OrderedDict

import torch

from srnas.basicsr_compat import import_basicsr

import_basicsr()
from basicsr.models.sr_model import SRModel  # noqa: E402
from basicsr.utils.dist_util import master_only  # noqa: E402
from basicsr.utils.registry import MODEL_REGISTRY  # noqa: E402

from srnas.nas.errors import NASConfigError  # noqa: E402
from srnas.nas.files import atomic_torch_save  # noqa: E402
from srnas.nas.precision import MixedPrecision  # noqa: E402
from srnas.utils.errors import InputError  # noqa: E402


def torch_optimizer_names():
    """Names of the optimizer classes in ``torch.optim``."""
    return sorted(name for name, obj in vars(torch.optim).items()
                  if isinstance(obj, type) and issubclass(obj, torch.optim.Optimizer) and obj is not torch.optim.Optimizer)


@MODEL_REGISTRY.register()
class SRNASModel(SRModel):
    """SRModel + any torch.optim optimizer + optional gradient clipping + mixed precision."""

    EXTRA_OPTION_KEYS = {'train': {'grad_clip', 'amp'}}

    @staticmethod
    def optimizer_names():
        return torch_optimizer_names()

    def get_optimizer(self, optim_type, params, lr, **kwargs):
        if optim_type not in torch_optimizer_names():
            raise InputError(f"train.optim_g.type: unknown optimizer {optim_type!r} "
                             f"(torch.optim: {', '.join(torch_optimizer_names())})")
        return getattr(torch.optim, optim_type)(params, lr, **kwargs)

    def setup_optimizers(self):
        super().setup_optimizers()
        max_norm = self.opt['train'].get('grad_clip')
        if max_norm:  # clip right before every step (after fp16's unscaling): SRModel's loop stays BasicSR's own
            def clip_weight_gradient(*_):
                torch.nn.utils.clip_grad_norm_(self.net_g.parameters(), max_norm)
            self.optimizer_g.register_step_pre_hook(clip_weight_gradient)

    @property
    def precision(self):
        """The ``train.amp`` mode's autocast and (fp16) GradScaler, built on first use."""
        if getattr(self, '_precision', None) is None:
            try:
                self._precision = MixedPrecision((self.opt.get('train') or {}).get('amp', 'none'), self.device,
                                                 'train.amp')
            except NASConfigError as err:
                raise InputError(str(err)) from None
        return self._precision

    def init_training_settings(self):
        super().init_training_settings()
        _ = self.precision  # a bad train.amp fails before the first iteration

    @master_only
    def save_training_state(self, epoch, current_iter):
        """BasicSR's resume state, plus the fp16 GradScaler's state; written write-then-rename."""
        if current_iter == -1:
            return
        state = {'epoch': epoch, 'iter': current_iter, 'optimizers': [o.state_dict() for o in self.optimizers],
                 'schedulers': [s.state_dict() for s in self.schedulers]}
        if self.precision.scaler.is_enabled():
            state['grad_scaler'] = self.precision.state_dict()
        atomic_torch_save(state, os.path.join(self.opt['path']['training_states'], f'{current_iter}.state'))

    def resume_training(self, resume_state):
        super().resume_training(resume_state)
        # a state from before this key (or from a non-fp16 run) has none: the scaler starts afresh
        self.precision.load_state_dict(resume_state.get('grad_scaler'))

    def test(self):
        with self.precision.autocast():
            super().test()
        self.output = self.output.float()  # metrics and saved images from fp32

    def optimize_parameters(self, current_iter):
        if self.precision.mode == 'none':
            return super().optimize_parameters(current_iter)
        # SRModel's step with the forward under autocast and a (fp16: scaled) backward
        self.optimizer_g.zero_grad()
        losses = OrderedDict()
        with self.precision.autocast():
            self.output = self.net_g(self.lq)
            if self.cri_pix:
                losses['l_pix'] = self.cri_pix(self.output, self.gt)
            if self.cri_perceptual:
                l_percep, l_style = self.cri_perceptual(self.output, self.gt)
                losses.update({k: v for k, v in (('l_percep', l_percep), ('l_style', l_style)) if v is not None})
        self.precision.backward(sum(losses.values()))
        self.precision.step(self.optimizer_g)  # the grad_clip hook runs inside, on unscaled gradients
        self.log_dict = self.reduce_loss_dict(losses)
        if self.ema_decay > 0:
            self.model_ema(decay=self.ema_decay)
