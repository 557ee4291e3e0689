"""``srnas export``: a searched child as a self-contained bundle, TorchScript and ONNX, parity-checked.

    srnas export -opt <derived train or test YAML> -o exported/ [--weights W.pth]
    srnas export --genotype G.json --scale 2 --weights W.pth -o exported/

Writes ``<name>.pth`` (bundle: state dict + genotype + scale + network
options; ``load_bundle`` rebuilds the model without any YAML),
``<name>.torchscript.pt`` and ``<name>.onnx`` (dynamic batch, height and
width), then runs all three at several non-square LR sizes and reports the
max abs difference to PyTorch (fails above ``--tolerance``). ONNX needs the
optional ``onnx`` + ``onnxruntime`` packages (``pip install srnas[export]``).
"""
import argparse
import json
from pathlib import Path

from srnas.utils.cli import command
from srnas.utils.errors import InputError

HELP = 'export a child network: bundle (weights + genotype + scale), TorchScript, ONNX; parity-checked'
BUNDLE_FORMAT = 'srnas-child-v1'
DEFAULT_SIZES = ((17, 23), (32, 21), (24, 40))


def build_parser():
    parser = argparse.ArgumentParser(prog='srnas export', description=HELP)
    parser.add_argument('-opt', default=None, help='train/test YAML of the child (network_g + weights path)')
    parser.add_argument('--genotype', default=None, help='genotype file (instead of -opt)')
    parser.add_argument('--scale', type=int, default=None, help='upscale factor (with --genotype)')
    parser.add_argument('--num_feat', type=int, default=None, help='child width (with --genotype)')
    parser.add_argument('--weights', default=None, help='trained weights (.pth, BasicSR "params" key accepted)')
    parser.add_argument('-o', '--out_dir', required=True, help='output folder')
    parser.add_argument('--name', default=None, help='file stem (default: the child network type + scale)')
    parser.add_argument('--sizes', default=None, help="LR sizes HxW for the parity check, e.g. '17x23,32x21'")
    parser.add_argument('--tolerance', type=float, default=1e-4, help='max abs difference allowed')
    parser.add_argument('--no_onnx', action='store_true', help='skip ONNX')
    return parser


def _parse_sizes(text):
    if not text:
        return DEFAULT_SIZES
    sizes = []
    for item in text.split(','):
        try:
            h, w = (int(v) for v in item.lower().split('x'))
        except ValueError:
            raise InputError(f"--sizes: '{item}' is not HxW") from None
        sizes.append((h, w))
    return tuple(sizes)


def _run(args):
    if (args.opt is None) == (args.genotype is None):
        raise InputError('give either -opt (a child YAML) or --genotype (with --scale)')
    if args.opt:
        network, weights = _network_from_yaml(args.opt)
        weights = args.weights or weights
    else:
        from srnas.commands.derive import child_network_options
        from srnas.spaces.genotypes import load_genotype_file
        genotype, extras = load_genotype_file(args.genotype)
        scale = args.scale or extras.get('scale')
        if not scale:
            raise InputError(f'{args.genotype}: no scale recorded; pass --scale')
        network = child_network_options(genotype, args.genotype, scale, args.num_feat)
        weights = args.weights
    result = export_child(network, weights, args.out_dir, name=args.name, sizes=_parse_sizes(args.sizes),
                          onnx=not args.no_onnx, tolerance=args.tolerance)
    for key in ('bundle', 'torchscript', 'onnx'):
        if result.get(key):
            print(f'{key:12s} {result[key]}')
    for row in result['parity']:
        print(f"parity LR {row['size'][0]}x{row['size'][1]}: " +
              ', '.join(f'{k} max|diff| {v:.2e}' for k, v in row['max_abs_diff'].items()))
    if not result['ok']:
        print(f'parity check FAILED (tolerance {args.tolerance})')
        return 1
    print(f'parity check passed (tolerance {args.tolerance})')
    return 0


def _network_from_yaml(path):
    from srnas.utils.network_options import network_options
    network, scale, opt = network_options(path, None, None)
    if 'genotype' not in network:
        raise InputError(f"{path}: option 'network_g' is not a searched child (no genotype)")
    network.setdefault('upscale', scale)
    return network, (opt.get('path') or {}).get('pretrain_network_g')


def build_child(network):
    """The child network from its options (type + constructor arguments)."""
    from srnas.utils.checkpoint import build_network
    return build_network(network)


def save_bundle(model, network, path):
    """State dict + genotype + scale + constructor options, one file, write-then-rename."""
    from srnas.nas.files import atomic_torch_save
    network = {k: v for k, v in network.items() if k != 'genotype'}
    bundle = {'format': BUNDLE_FORMAT, 'genotype': model.genotype, 'scale': model.upscale,
              'network': network, 'state_dict': model.state_dict()}
    return atomic_torch_save(bundle, path)


def load_bundle(path):
    """Rebuild an exported child (eval mode) from its bundle alone."""
    import torch
    bundle = torch.load(path, map_location='cpu', weights_only=False)
    if not isinstance(bundle, dict) or bundle.get('format') != BUNDLE_FORMAT:
        raise InputError(f'{path} is not an srnas child bundle')
    model = build_child(dict(bundle['network'], genotype=bundle['genotype']))
    model.load_state_dict(bundle['state_dict'])
    return model.eval()


def export_child(network, weights, out_dir, name=None, sizes=DEFAULT_SIZES, onnx=True, tolerance=1e-4):
    """Write bundle, TorchScript and ONNX for a child; returns paths and the parity table."""
    import torch
    from srnas.nas.files import atomic_write, atomic_write_text
    model = build_child(network)
    if weights:  # a bundle's state_dict, BasicSR's params_ema / params, or a bare state dict
        from srnas.utils.checkpoint import load_weights
        load_weights(model, weights, param_key='params_ema')
    model.eval()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = name or f"{network['type']}_x{model.upscale}"
    result = {'bundle': save_bundle(model, network, out_dir / f'{name}.pth')}
    example = torch.rand(1, 3, *sizes[0])
    with torch.no_grad():
        traced = torch.jit.trace(model, example, check_trace=False)
    result['torchscript'] = atomic_write(out_dir / f'{name}.torchscript.pt', lambda tmp: traced.save(tmp))
    session = None
    if onnx:
        result['onnx'] = atomic_write(out_dir / f'{name}.onnx', lambda tmp: _export_onnx(model, example, tmp))
        import onnxruntime
        session = onnxruntime.InferenceSession(str(result['onnx']), providers=['CPUExecutionProvider'])
    reloaded_script = torch.jit.load(str(result['torchscript']))
    reloaded_bundle = load_bundle(result['bundle'])
    parity, ok = [], True
    generator = torch.Generator().manual_seed(0)
    for h, w in sizes:
        x = torch.rand(2, 3, h, w, generator=generator)
        with torch.no_grad():
            reference = model(x)
            diffs = {'bundle': (reloaded_bundle(x) - reference).abs().max().item(),
                     'torchscript': (reloaded_script(x) - reference).abs().max().item()}
        if session is not None:
            out = session.run(None, {'lr': x.numpy()})[0]
            diffs['onnx'] = float(abs(torch.from_numpy(out) - reference).max())
        ok = ok and all(d <= tolerance for d in diffs.values())
        parity.append({'size': (h, w), 'max_abs_diff': diffs})
    result.update({'parity': parity, 'ok': ok})
    atomic_write_text(out_dir / f'{name}_parity.json',
                      json.dumps({'tolerance': tolerance, 'ok': ok, 'parity': parity}, indent=1))
    return result


def _export_onnx(model, example, path):
    import torch
    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError:
        raise InputError('ONNX export needs the onnx and onnxruntime packages (pip install srnas[export]), '
                         'or pass --no_onnx') from None
    axes = {0: 'batch', 2: 'height', 3: 'width'}
    torch.onnx.export(model, (example,), path, input_names=['lr'], output_names=['sr'], opset_version=17,
                      dynamic_axes={'lr': axes, 'sr': axes}, dynamo=False)


main = command('export', build_parser, _run)
