"""CPU training speed of IMDN (forward + backward + Adam step) against the number of torch threads.

    .venv/bin/python benchmarks/foundation_train_speed.py [--num_feat 32 --num_blocks 4 --batch 16 --lr_patch 32]

Each thread count runs in a fresh process (torch fixes its thread pool at first use).
"""
import argparse
import subprocess
import sys

CHILD = '''
import time, torch
torch.set_num_threads({threads})
from srnas.archs.imdn_arch import SRNASIMDN
m = SRNASIMDN(2, num_feat={num_feat}, num_blocks={num_blocks}); opt = torch.optim.Adam(m.parameters())
x = torch.rand({batch}, 3, {lr_patch}, {lr_patch}); y = torch.rand({batch}, 3, 2 * {lr_patch}, 2 * {lr_patch})
for i in range({warmup} + {iters}):
    if i == {warmup}:
        start = time.time()
    loss = (m(x) - y).abs().mean(); opt.zero_grad(); loss.backward(); opt.step()
print((time.time() - start) / {iters})
'''


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--num_feat', type=int, default=32)
    parser.add_argument('--num_blocks', type=int, default=4)
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--lr_patch', type=int, default=32)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    args = parser.parse_args()
    for threads in args.threads:
        code = CHILD.format(threads=threads, warmup=3, **{k: v for k, v in vars(args).items() if k != 'threads'})
        seconds = float(subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                                       check=True).stdout.strip())
        print(f'threads={threads}: {seconds:.3f} s/iteration (IMDN f{args.num_feat}b{args.num_blocks}, '
              f'batch {args.batch}, LR patch {args.lr_patch})')


if __name__ == '__main__':
    main()
