"""How far the SAC-IMDN supernet's view of a network is from the network itself, with and without
partial channels at c4 (48 -> 16, srnas's own construction; issue 9, item 3.5).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/partial_channel_gap.py [--iters 400] [--out benchmark_output/pc_gap]

One genotype (SA-DARTS's SAC-IMDN ops) at demo scale (width 16, 3 blocks, x2). Three networks are
trained the same way (Adam 5e-3 with cosine decay, L1, batch 8 of 64x64 HR patches from the demo photos)
and evaluated on the held-out photos:
  child           the derived network itself (SRNASIMDNChild);
  supernet K=4    the SAC supernet with alpha frozen one-hot on the genotype: partial channels everywhere;
  supernet K=4, c4 full   the same with c4 searched at full width (full_channel_positions: [c4]).
The gap = child PSNR - supernet PSNR is how much the supernet misrepresents the child it would derive.
"""
import argparse
import json
import math
from pathlib import Path

ONE_HOT = 30.0  # alpha value of the chosen op: softmax weight 1 - 11 * exp(-30) ~ 1
GENOTYPE = {'space': 'imdn', 'ops': ['dil_sep_conv_3x3', 'sep_conv_3x3', 'sep_conv_3x3', 'dil_sep_conv_3x3']}
DEMO = {'upscale': 2, 'num_feat': 16, 'num_blocks': 3}


def build(kind):
    import torch
    from srnas.ops.sr_ops import IMDN_CANDIDATES
    from srnas.spaces.imdn import IMDNChild
    from srnas.spaces.imdn_supernet import IMDNSupernet
    if kind == 'child':
        return IMDNChild(GENOTYPE, **DEMO)
    net = IMDNSupernet(partial_k=4, full_channel_positions=('c4',) if kind == 'supernet_c4_full' else (), **DEMO)
    with torch.no_grad():
        net.alpha.zero_()
        for row, op in enumerate(GENOTYPE['ops']):
            net.alpha[row, IMDN_CANDIDATES.index(op)] = ONE_HOT
    net.alpha.requires_grad_(False)
    return net


def _to_tensor(images):
    """uint8 BGR HxWx3 list -> float RGB Bx3xHxW in [0, 1]."""
    import numpy as np
    import torch
    return torch.from_numpy(np.stack(images)[..., ::-1].copy()).permute(0, 3, 1, 2).float() / 255


def patches(data_root, scale, batch, size, gen):
    """Random aligned (LR, HR) patch batches from the demo train split."""
    import numpy as np
    import torch
    from srnas.demo.data import split_folders
    from srnas.utils.image_io import read_image
    gt_dir, lq_dir = split_folders(data_root, 'train_sub', scale)
    pairs = [(read_image(lq_dir / p.name), read_image(p)) for p in sorted(gt_dir.glob('*.png'))]
    while True:
        lrs, hrs = [], []
        for _ in range(batch):
            lq, gt = pairs[int(gen.integers(len(pairs)))]
            y, x = int(gen.integers(lq.shape[0] - size + 1)), int(gen.integers(lq.shape[1] - size + 1))
            lrs.append(lq[y:y + size, x:x + size])
            hrs.append(gt[y * scale:(y + size) * scale, x * scale:(x + size) * scale])
        yield _to_tensor(lrs), _to_tensor(hrs)


def train_and_score(kind, data_root, iters, seed=0):
    import numpy as np
    import torch
    from srnas.demo.data import split_folders
    from srnas.evaluation.benchmarks import evaluate_model
    torch.manual_seed(seed)
    net = build(kind)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=5e-3)
    batches = patches(data_root, DEMO['upscale'], 8, 32, np.random.default_rng(seed))
    net.train()
    for step in range(iters):
        for group in opt.param_groups:
            group['lr'] = 5e-3 * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * step / iters)))
        lr, hr = next(batches)
        loss = (net(lr) - hr).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    metrics = evaluate_model(net.eval(), {'held-out': split_folders(data_root, 'test', DEMO['upscale'])},
                             DEMO['upscale'])['held-out']
    return {'network': kind, 'psnr': metrics['psnr'], 'ssim': metrics['ssim'], 'final_l1': loss.item()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=400)
    parser.add_argument('--out', default='benchmark_output/pc_gap')
    args = parser.parse_args()
    import torch
    torch.set_num_threads(1)
    from srnas.demo.data import build_demo_data
    from srnas.nas.files import atomic_write_text
    out = Path(args.out).resolve()
    data_root = build_demo_data(out / 'data', DEMO['upscale'])
    rows = [train_and_score(kind, data_root, args.iters) for kind in ('child', 'supernet_k4', 'supernet_c4_full')]
    child = rows[0]['psnr']
    for row in rows:
        row['gap_db'] = child - row['psnr']
    atomic_write_text(out / 'partial_channel_gap.json', json.dumps(rows, indent=1))
    print(f"| network ({args.iters} iterations) | PSNR | SSIM | gap to child (dB) |")
    print('|---|---|---|---|')
    for row in rows:
        print(f"| {row['network']} | {row['psnr']:.2f} | {row['ssim']:.4f} | {row['gap_db']:.2f} |")


if __name__ == '__main__':
    main()
