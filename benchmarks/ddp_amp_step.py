"""Search-step time of the SR supernet through ``run_search``: 1 vs N processes (torchrun), fp32 vs bf16.

One step = one architect step + one weight step (the loop's own), on random LR/HR
tensors (no data loading), global batch ``--batch`` split over the ranks. Per-epoch
seconds come from the loop's log (``seconds``, which excludes checkpoint writing);
the figure is the median over the timed epochs of seconds / steps, on rank 0.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ddp_amp_step.py --amp none
    OMP_NUM_THREADS=1 .venv/bin/torchrun --standalone --nproc_per_node 2 benchmarks/ddp_amp_step.py --amp none
    python benchmarks/ddp_amp_step.py --device cuda --amp fp16 [--channels_last]   # on a GPU

On CUDA the per-epoch seconds end with the loop's own synchronisation points (it
reads the losses back with ``float()`` every step), so they are GPU time too.
"""
import argparse
import json
import statistics
import tempfile

import torch


def build_task(args, device):
    from basicsr.archs import build_network

    from srnas.nas import distributed
    from srnas.nas.architects import build_architect
    from srnas.nas.search_loop import SearchTask

    per_rank = distributed.per_rank_batch(args.batch, '--batch')

    def batches(seed, count):
        gen = torch.Generator().manual_seed(seed)
        out = []
        for _ in range(count):
            lq = torch.rand(args.batch, 3, args.patch, args.patch, generator=gen)
            gt = torch.rand(args.batch, 3, 2 * args.patch, 2 * args.patch, generator=gen)
            rows = distributed.rank_share(range(args.batch))
            out.append((lq[rows].to(device), gt[rows].to(device)))
        assert len(out[0][0]) == per_rank
        return out

    class RandomSR(SearchTask):
        space = 'dlsr'

        def __init__(self):
            torch.manual_seed(0)
            self.model = build_network({'type': 'SRNASDLSRSupernet', 'upscale': 2, 'num_feat': args.num_feat,
                                        'partial_k': args.partial_k,
                                        'channels_last': args.channels_last}).to(device)
            self.weight_optimizer = torch.optim.Adam(self.model.weights(), lr=5e-4)
            self.architect = build_architect(self.model, self.loss, {'type': args.architect},
                                             weight_optimizer=self.weight_optimizer)

        @staticmethod
        def loss(net, batch):
            return (net(batch[0]) - batch[1]).abs().mean()

        def train_batches(self, epoch, seed):
            return batches(seed, args.steps)

        def arch_batches(self, epoch, seed):
            return iter(batches(seed + 1, args.steps))

        def weight_loss(self, batch):
            loss = self.loss(self.net(), batch)
            return loss, {'l_pix': float(loss.detach())}

    return RandomSR()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--amp', default='none', choices=['none', 'bf16', 'fp16'])
    parser.add_argument('--architect', default='first_order', choices=['first_order', 'second_order', 'a2m'])
    parser.add_argument('--batch', type=int, default=8, help='global batch (split over the ranks)')
    parser.add_argument('--patch', type=int, default=24, help='LR patch side')
    parser.add_argument('--num_feat', type=int, default=16)
    parser.add_argument('--partial_k', type=int, default=2)
    parser.add_argument('--steps', type=int, default=4, help='steps per epoch')
    parser.add_argument('--epochs', type=int, default=4, help='timed epochs (one more is run first, untimed)')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--channels_last', action='store_true', help='network_g.channels_last: NHWC supernet')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from srnas.basicsr_compat import register_plugins
    register_plugins()
    from srnas.nas import distributed
    from srnas.nas.search_loop import LoopOptions, run_search
    distributed.init_from_env()
    try:
        device = distributed.device() if args.device == 'cuda' else torch.device('cpu')
        task = build_task(args, device)
        out = tempfile.mkdtemp(prefix='ddp_amp_step_') if distributed.is_main() else None
        out = distributed.from_main(out)
        result = run_search(task, LoopOptions(epochs=args.epochs + 1, out_dir=out, plot='off', amp=args.amp,
                                              log=lambda line: None))
        per_step = [e['seconds'] / e['steps'] for e in result['history'][1:]]
        if distributed.is_main():
            print(json.dumps({'processes': distributed.world_size(), 'device': str(device),
                              'channels_last': args.channels_last, 'amp': args.amp, 'architect': args.architect,
                              'global_batch': args.batch, 'patch': args.patch, 'num_feat': args.num_feat,
                              'threads_per_process': args.threads,
                              'median_step_s': round(statistics.median(per_step), 4),
                              'step_s': [round(s, 4) for s in per_step]}))
    finally:
        distributed.teardown()


if __name__ == '__main__':
    main()
