"""How far each architect direction moves under bf16 autocast, computed naively (autocast left on), from fp32.

Why srnas keeps the finite-difference directions in fp32 (srnas.nas.precision): on the
DLSR supernet, second order's Hessian term perturbs the weights by R = 0.01 / ||u|| and
A2M's perturbs alpha by eps * g, both below bf16's resolution. The architect functions
are called directly here, so the fp32 guard of ``Architect.direction`` is bypassed.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/amp_directions.py
"""
import argparse
import json

import torch


def rel(a, b):
    return float(torch.sqrt(sum(((x - y) ** 2).sum() for x, y in zip(a, b)) / sum((y ** 2).sum() for y in b)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num_feat', type=int, default=16)
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--patch', type=int, default=24)
    parser.add_argument('--rho', type=float, default=0.1)
    parser.add_argument('--eps', type=float, default=0.01)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from srnas.basicsr_compat import register_plugins
    register_plugins()
    from basicsr.archs import build_network

    from srnas.nas.architects import a2m_direction, unrolled_arch_gradient
    from srnas.nas.architects.gradients import assign, grad_wrt, values_restored

    torch.manual_seed(0)
    net = build_network({'type': 'SRNASDLSRSupernet', 'upscale': 2, 'num_feat': args.num_feat, 'partial_k': 2})
    alphas = net.arch_parameters()

    def pair():
        lq = torch.rand(args.batch, 3, args.patch, args.patch)
        return lq, torch.nn.functional.interpolate(lq, scale_factor=2, mode='bicubic')

    val, train = pair(), pair()

    def loss(model, batch):
        return (model(batch[0]) - batch[1]).abs().mean()

    opt = torch.optim.Adam(net.weights(), lr=5e-4)
    opt.zero_grad()
    loss(net, train).backward()
    opt.step()  # Adam moments for second order to unroll

    def first_order():
        return grad_wrt(loss(net, val), alphas)

    def second_order():
        return unrolled_arch_gradient(net, loss, train, val, opt)[0]

    def a2m():
        return a2m_direction(lambda: loss(net, val), alphas, rho=args.rho, eps=args.eps)

    def a2m_hessian_term():
        """A2M's direction minus its first term grad L(alpha~): rho * (g+ - g-) / (2 eps)."""
        direction = a2m()
        with values_restored(alphas) as start:
            g0 = grad_wrt(loss(net, val), alphas)
            assign(alphas, [a + args.rho * g for a, g in zip(start, g0)])
            g_tilde = grad_wrt(loss(net, val), alphas)
        return [d - g for d, g in zip(direction, g_tilde)]

    report = {}
    for name, fn in (('first_order', first_order), ('second_order', second_order), ('a2m', a2m),
                     ('a2m_hessian_term', a2m_hessian_term)):
        fp32 = [g.detach() for g in fn()]
        with torch.autocast('cpu', dtype=torch.bfloat16):
            bf16 = [g.detach().float() for g in fn()]
        report[name] = round(rel(bf16, fp32), 4)
    print(json.dumps({'relative_error_bf16_vs_fp32': report, 'num_feat': args.num_feat, 'batch': args.batch,
                      'patch': args.patch, 'rho': args.rho, 'eps': args.eps}))


if __name__ == '__main__':
    main()
