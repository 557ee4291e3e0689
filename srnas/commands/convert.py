"""``srnas convert``: official IMDN or DLSR weights -> BasicSR checkpoint ``{'params': ...}``.

``--from imdn`` (default): Zheng222/IMDN weights for SRNASIMDN.
``--from dlsr``: DawnHH/DLSR-PyTorch weights (trained on 0..255 pixels) for SRNASDLSRChild with
``img_range: 255``; the cell ops are read from the checkpoint, the wiring comes from ``--genotype``
(default: the paper's network, whose checkpoint is ``RFDN_beta1_para_loss.pt``).
"""
import argparse

from srnas.utils.cli import command
from srnas.utils.errors import InputError

HELP = 'convert official IMDN or DLSR weights (module. prefix or not) to a BasicSR checkpoint'
DLSR_IMG_RANGE = 255  # the DLSR reference code's rgb_range


def build_parser():
    parser = argparse.ArgumentParser(prog='srnas convert', description=HELP)
    parser.add_argument('-i', '--input', required=True, help='official checkpoint, e.g. IMDN_x4.pth')
    parser.add_argument('-o', '--output', required=True, help='BasicSR checkpoint to write')
    parser.add_argument('--from', dest='source', choices=('imdn', 'dlsr'), default='imdn',
                        help='whose weights: imdn (Zheng222/IMDN, default) or dlsr (DawnHH/DLSR-PyTorch)')
    parser.add_argument('--scale', type=int, default=None,
                        help='check the weights load strictly at this scale (default: inferred)')
    parser.add_argument('--genotype', default=None,
                        help='dlsr only: genotype file giving the cell wiring (default: the DLSR paper network)')
    return parser


def convert_dlsr_checkpoint(src, dst, genotype=None, scale=None):
    """Map a DLSR reference checkpoint onto DLSRChild(img_range=255), check strict loading, save atomically.

    Returns (genotype, scale). The ops the checkpoint holds must be those of ``genotype``.
    """
    from srnas.spaces import dlsr_official
    from srnas.spaces.dlsr import DLSRChild
    from srnas.spaces.genotypes import DLSR_PAPER_GENOTYPE, GenotypeError, load_genotype
    from srnas.utils.checkpoint import read_state_dict
    state = read_state_dict(src)
    if not dlsr_official.is_official_dlsr_state_dict(state):
        raise InputError(f'{src} does not hold DLSR reference weights (no fea_conv / B1.c1_r.op tensors)')
    try:
        genotype = load_genotype(genotype if genotype is not None else DLSR_PAPER_GENOTYPE, space='dlsr')
        ops = dlsr_official.read_cell_ops(state)
        inferred = dlsr_official.read_upscale(state)
        if ops != genotype['ops']:
            raise InputError(f'{src} holds cells with ops {ops}, the genotype has {genotype["ops"]}: '
                             'pass --genotype with the network these weights belong to')
        if scale is not None and scale != inferred:
            raise InputError(f'{src} is a x{inferred} network, --scale {scale} was asked for')
        converted = dlsr_official.convert_official_dlsr_state_dict(state, ops)
    except (GenotypeError, dlsr_official.DLSRCheckpointError) as err:
        raise InputError(f'{src}: {err}') from None
    num_feat = state['fea_conv.weight'].shape[0]
    net = DLSRChild(genotype, upscale=inferred, num_feat=num_feat, img_range=DLSR_IMG_RANGE)
    _save_strictly_loaded(net, converted, dst, f'{src} does not load into SRNASDLSRChild with genotype {genotype}',
                          ' (is the wiring right? pass --genotype)')
    return genotype, inferred


def convert_imdn_checkpoint(src, dst, scale=None):
    """Convert, check strict loading into SRNASIMDN, save atomically; returns the scale."""
    import math

    from srnas.archs.imdn_arch import SRNASIMDN
    from srnas.utils.checkpoint import read_state_dict
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
    _save_strictly_loaded(net, state, dst, f'{src} does not load into SRNASIMDN x{scale}')
    return scale, num_feat, num_blocks


def _save_strictly_loaded(net, state, dst, failure, hint=''):
    """Load ``state`` into ``net`` strictly (else InputError ``failure: <first line>hint``), save as BasicSR's."""
    from srnas.nas.files import atomic_torch_save
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise InputError(f'{failure}: {str(exc).splitlines()[0]}{hint}') from None
    atomic_torch_save({'params': net.state_dict()}, dst)


def _run(args):
    if args.source == 'dlsr':
        genotype, scale = convert_dlsr_checkpoint(args.input, args.output, args.genotype, args.scale)
        print(f"{args.output}: SRNASDLSRChild upscale={scale} img_range={DLSR_IMG_RANGE} ops={genotype['ops']} "
              f"connections={genotype['connections']} (BasicSR checkpoint, key 'params')")
        return
    if args.genotype is not None:
        raise InputError('--genotype applies to --from dlsr only')
    scale, num_feat, num_blocks = convert_imdn_checkpoint(args.input, args.output, args.scale)
    print(f'{args.output}: SRNASIMDN upscale={scale} num_feat={num_feat} num_blocks={num_blocks} '
          "(BasicSR checkpoint, key 'params')")


main = command('convert', build_parser, _run)
