"""How far the second-order alpha direction is from first order when the weights train with Adam (issue 9, 3.3).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/second_order_vs_first.py [--adam-steps 5]

Demo-width DLSR supernet (16 channels, x2), random 24x24 LR batches, L1. The weights take a few Adam
steps (lr 5e-4, the SR settings) so that Adam has moments; then the first-order direction and the
second-order one (srnas's unrolled Adam step) are compared: ||d2 - d1|| / ||d1||. Unrolling Adam as a
plain SGD step with its lr (what srnas did before) gives a direction within a fraction of a percent of
first order: the Hessian term scaled by lr = 5e-4 all but vanishes.
"""
import argparse


def batch(seed):
    import torch
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(4, 3, 24, 24, generator=gen), torch.rand(4, 3, 48, 48, generator=gen)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--adam-steps', type=int, default=5)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(1)
    from srnas.nas.architects import Architect
    from srnas.nas.architects.gradients import global_norm
    from srnas.spaces.dlsr_supernet import DLSRSupernet
    torch.manual_seed(0)
    model = DLSRSupernet(upscale=2, num_feat=16)

    def loss_fn(net, b):
        return (net(b[0]) - b[1]).abs().mean()

    weight_opt = torch.optim.Adam(model.weights(), lr=5e-4, betas=(0.9, 0.999), weight_decay=1e-8)
    for step in range(args.adam_steps):
        weight_opt.zero_grad()
        loss_fn(model, batch(100 + step)).backward()
        weight_opt.step()
    model.zero_grad(set_to_none=True)
    train_batch, val_batch = batch(1), batch(2)
    first, _ = Architect(model, loss_fn, {'type': 'first_order'}).direction(val_batch, 0)
    second, _ = Architect(model, loss_fn, {'type': 'second_order'}, weight_optimizer=weight_opt).direction(
        val_batch, 0, train_batch=train_batch)
    gap = float(global_norm([a - b for a, b in zip(second, first)]) / global_norm(first))
    print(f'||second - first|| / ||first|| after {args.adam_steps} Adam steps: {gap:.4f}')


if __name__ == '__main__':
    main()
