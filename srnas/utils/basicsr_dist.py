"""``srnas train --launcher pytorch`` under torchrun on CPU and CUDA, around BasicSR 1.4.2's CUDA-only set-up.

BasicSR's ``init_dist('pytorch')`` calls ``torch.cuda.set_device(rank % device_count)`` and
joins an ``nccl`` group, and ``BaseModel.model_to_device`` wraps the network in DDP with
``device_ids=[torch.cuda.current_device()]``: both fail without CUDA. While the pipeline
runs, srnas joins the group itself (``srnas.nas.distributed.init_from_env``: gloo on CPU,
nccl on ``cuda:LOCAL_RANK``), tells BasicSR's ``parse_options`` that the group is up, and
wraps networks with the device ids DDP expects for their device (none on CPU). The rest of
BasicSR's DDP path (EnlargedSampler per rank, loss reduction to rank 0, rank-0 logging and
checkpoints) is used as it is.
"""
import contextlib

from srnas.nas import distributed
from srnas.utils.errors import InputError


def _joined_already(launcher, backend='nccl', **kwargs):
    """Stands in for BasicSR's ``init_dist``: ``torchrun_for_basicsr`` has joined the group."""


def _model_to_device(self, net):
    """``BaseModel.model_to_device`` for CPU and CUDA: DDP's ``device_ids`` only for a CUDA network."""
    from torch.nn.parallel import DataParallel, DistributedDataParallel
    net = net.to(self.device)
    if self.opt['dist']:
        ids = [self.device.index if self.device.index is not None else distributed.device().index] \
            if self.device.type == 'cuda' else None
        net = DistributedDataParallel(net, device_ids=ids,
                                      find_unused_parameters=self.opt.get('find_unused_parameters', False))
    elif self.opt['num_gpu'] > 1:
        net = DataParallel(net)
    return net


@contextlib.contextmanager
def torchrun_for_basicsr(launcher):
    """Run BasicSR's train pipeline inside this block; with ``launcher == 'pytorch'`` it runs distributed."""
    if launcher != 'pytorch':
        yield
        return
    if not distributed.launched_by_torchrun():
        raise InputError("--launcher pytorch: start srnas with torchrun (e.g. 'torchrun --nproc_per_node 2 -m srnas "
                         "train -opt X.yml --launcher pytorch'); RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and "
                         'MASTER_PORT are not all set')
    import basicsr.utils.options as options
    from basicsr.models.base_model import BaseModel
    distributed.init_from_env()
    saved = options.init_dist, BaseModel.model_to_device
    options.init_dist, BaseModel.model_to_device = _joined_already, _model_to_device
    try:
        yield
    finally:
        options.init_dist, BaseModel.model_to_device = saved
        distributed.teardown()
