"""``SRNASModel``: BasicSR's ``SRModel`` with the two training options lightweight-SR recipes ask for.

* ``train.optim_g.type`` may name any ``torch.optim`` optimizer (BasicSR 1.4.2 accepts only Adam),
  e.g. ``AdamW`` or ``SGD``.
* ``train.grad_clip``: optional max L2 norm of the weight gradient (DLSR's retraining clips at 50).

Everything else (losses, EMA, validation, checkpoints) is SRModel's.
"""
import torch

from srnas.basicsr_compat import import_basicsr

import_basicsr()
from basicsr.models.sr_model import SRModel  # noqa: E402
from basicsr.utils.registry import MODEL_REGISTRY  # noqa: E402

from srnas.utils.errors import InputError  # noqa: E402


def torch_optimizer_names():
    """Names of the optimizer classes in ``torch.optim``."""
    return sorted(name for name, obj in vars(torch.optim).items()
                  if isinstance(obj, type) and issubclass(obj, torch.optim.Optimizer) and obj is not torch.optim.Optimizer)


@MODEL_REGISTRY.register()
class SRNASModel(SRModel):
    """SRModel + any torch.optim optimizer + optional gradient clipping."""

    EXTRA_OPTION_KEYS = {'train': {'grad_clip'}}

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
        if max_norm:  # clip right before every step: SRModel's optimize_parameters stays BasicSR's own
            def clip_weight_gradient(*_):
                torch.nn.utils.clip_grad_norm_(self.net_g.parameters(), max_norm)
            self.optimizer_g.register_step_pre_hook(clip_weight_gradient)
