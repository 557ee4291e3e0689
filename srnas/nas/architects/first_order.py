"""First-order DARTS: alpha moves along grad_alpha L_val(w, alpha), the weights held fixed."""
from srnas.nas.architects.direction import ARCHITECT_REGISTRY, Direction
from srnas.nas.architects.gradients import grad_wrt, weights_frozen


@ARCHITECT_REGISTRY.register()
class FirstOrder(Direction):
    name = 'first_order'
    calibrates_itself = True
    amp_safe = True  # no finite differences: bf16 autocast is accurate enough (docs/distributed.md)

    def compute(self, architect, val_loss, val_batch, train_batch, epoch):
        with weights_frozen(architect.weights):
            if not architect.relative_regularizers:
                loss = val_loss()
                return grad_wrt(loss, architect.alphas), loss.detach()
            # one network evaluation: its gradient calibrates the FLOPs weight and is reused
            data = architect.data_loss(val_batch, train_batch)
            data_grads = grad_wrt(data, architect.alphas)
            architect.calibrate(data_grads)
            penalty = architect.regularization(epoch)
            penalty_grads = grad_wrt(penalty, architect.alphas, reduce=False)
            return [d + p for d, p in zip(data_grads, penalty_grads)], (data + penalty).detach()
