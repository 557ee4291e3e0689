"""``srnas convert``: official IMDN weights -> BasicSR checkpoint ``{'params': ...}`` for SRNASIMDN."""
import argparse

from srnas.utils.cli import run_guarded

HELP = 'convert official IMDN weights (Zheng222/IMDN, module. prefix or not) to a BasicSR checkpoint'


def build_parser():
    parser = argparse.ArgumentParser(prog='srnas convert', description=HELP)
    parser.add_argument('-i', '--input', required=True, help='official checkpoint, e.g. IMDN_x4.pth')
    parser.add_argument('-o', '--output', required=True, help='BasicSR checkpoint to write')
    parser.add_argument('--scale', type=int, default=None,
                        help='check the weights load strictly into SRNASIMDN at this scale (default: inferred)')
    return parser


def convert_imdn_checkpoint(src, dst, scale=None):
    """Convert, check strict loading into SRNASIMDN, save atomically; returns the scale."""
    import math

    from srnas.archs.imdn_arch import SRNASIMDN
    from srnas.nas.files import atomic_torch_save
    from srnas.utils.checkpoint import read_state_dict
    from srnas.utils.errors import InputError
    state = read_state_dict(src)
    if 'upsampler.conv.weight' not in state or 'head.weight' not in state:
        raise InputError(f'{src} does not hold IMDN weights (no upsampler/head tensors)')
    out_channels = state['upsampler.conv.weight'].shape[0]
    num_out = state['head.weight'].shape[1]
    inferred = int(round(math.sqrt(out_channels / num_out)))
    scale = scale or inferred
    num_feat = state['head.weight'].shape[0]
    num_blocks = len({k.split('.')[1] for k in state if k.startswith('blocks.')})
    net = SRNASIMDN(scale, num_in_ch=num_out, num_feat=num_feat, num_blocks=num_blocks)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise InputError(f'{src} does not load into SRNASIMDN x{scale}: {str(exc).splitlines()[0]}') from None
    atomic_torch_save({'params': net.state_dict()}, dst)
    return scale, num_feat, num_blocks


def _run(args):
    scale, num_feat, num_blocks = convert_imdn_checkpoint(args.input, args.output, args.scale)
    print(f'{args.output}: SRNASIMDN upscale={scale} num_feat={num_feat} num_blocks={num_blocks} '
          "(BasicSR checkpoint, key 'params')")


def main(argv):
    args = build_parser().parse_args(argv)
    return run_guarded('convert', _run, args)
