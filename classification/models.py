"""Build search supernets and evaluation networks from the ``space`` mapping of a YAML file."""
from pathlib import Path

from classification.darts import genotypes as darts_genotypes
from classification.darts.eval_net import NetworkCIFAR, NetworkImageNet
from classification.darts.search_net import DartsSearchNetwork
from classification.nb201 import arch as nb201_arch
from classification.nb201.search_net import NB201SearchNetwork
from classification.nb201.tiny_network import TinyNetwork
from classification.ops import DARTS_PRIMITIVES, DARTS_PRIMITIVES_NO_NONE
from classification.options import OptionError, section
from srnas.nas.genotype import read_genotype_file

SPACES = ('darts', 'nb201')
PRIMITIVE_SETS = {'darts': DARTS_PRIMITIVES, 'darts_no_none': DARTS_PRIMITIVES_NO_NONE}

SEARCH_DEFAULTS = {
    'darts': {'type': 'darts', 'channels': 16, 'layers': 8, 'primitives': 'darts', 'partial_k': 1,
              'edge_normalization': False},
    'nb201': {'type': 'nb201', 'channels': 16, 'cells_per_stage': 5, 'affine': False, 'track_running_stats': True,
              'partial_k': 1},
}
EVAL_DEFAULTS = {
    'darts': {'type': 'darts', 'network': 'cifar', 'channels': 36, 'layers': 20, 'auxiliary': True,
              'auxiliary_weight': 0.4, 'drop_path_prob': 0.2},
    'nb201': {'type': 'nb201', 'channels': 16, 'cells_per_stage': 5},
}


def space_type(opt):
    kind = (opt.get('space') or {}).get('type')
    if kind not in SPACES:
        raise OptionError(f"space.type must be one of {SPACES}, got {kind!r}")
    return kind


def search_space_config(opt):
    return section(opt, 'space', SEARCH_DEFAULTS[space_type(opt)])


def eval_space_config(opt):
    return section(opt, 'space', EVAL_DEFAULTS[space_type(opt)])


def _primitives(value):
    if isinstance(value, str):
        if value not in PRIMITIVE_SETS:
            raise OptionError(f"space.primitives '{value}' is not one of {sorted(PRIMITIVE_SETS)} or a list of ops")
        return PRIMITIVE_SETS[value]
    if isinstance(value, (list, tuple)):
        return tuple(value)
    raise OptionError(f'space.primitives must be a name or a list of op names, got {value!r}')


def build_search_model(space, num_classes):
    if space['type'] == 'darts':
        return DartsSearchNetwork(channels=space['channels'], num_classes=num_classes, layers=space['layers'],
                                  primitives=_primitives(space['primitives']), partial_k=space['partial_k'],
                                  edge_normalization=space['edge_normalization'])
    return NB201SearchNetwork(channels=space['channels'], cells_per_stage=space['cells_per_stage'],
                              num_classes=num_classes, affine=space['affine'],
                              track_running_stats=space['track_running_stats'], partial_k=space['partial_k'])


def build_eval_model(space, genotype, num_classes):
    if space['type'] == 'nb201':
        return TinyNetwork(genotype, channels=space['channels'], cells_per_stage=space['cells_per_stage'],
                           num_classes=num_classes)
    if space['network'] == 'cifar':
        cls = NetworkCIFAR
    elif space['network'] == 'imagenet':
        cls = NetworkImageNet
    else:
        raise OptionError(f"space.network must be 'cifar' or 'imagenet', got {space['network']!r}")
    return cls(genotype, channels=space['channels'], num_classes=num_classes, layers=space['layers'],
               auxiliary=space['auxiliary'], drop_path_prob=space['drop_path_prob'])


def forward_logits(model, x):
    """``(logits, aux_logits or None)`` for every network of this package."""
    out = model(x)
    if isinstance(model, TinyNetwork):
        return out[1], None
    if isinstance(out, tuple):
        return out
    return out, None


# ----------------------------------------------------------------------------- genotypes on disk
def genotype_to_json(kind, genotype):
    if kind == 'darts':
        return {'space': 'darts', 'genotype': darts_genotypes.to_dict(genotype), 'repr': repr(genotype)}
    return {'space': 'nb201', 'arch': genotype, 'index': nb201_arch.arch_index(genotype)}


def resolve_genotype(kind, value):
    """A genotype from the YAML ``genotype`` value: a published name / arch string, or a file written by search."""
    if value is None:
        raise OptionError("'genotype' is required: a published name (DARTS_V2), an NB201 string, or a genotype file")
    if kind == 'darts':
        if isinstance(value, dict):
            return darts_genotypes.from_dict(value)
        text = str(value)
        if text in darts_genotypes.PUBLISHED or text.lstrip().startswith(('{', 'Genotype(')):
            return darts_genotypes.parse(text)
        return darts_genotypes.load(text)
    text = str(value)
    if text.startswith('|'):
        return nb201_arch.canonical(text)
    path = Path(text)
    if not path.is_file():
        raise OptionError(f"genotype '{text}' is neither an NB201 arch string nor an existing file")
    if path.suffix.lower() in ('.json', '.yml', '.yaml'):
        _, arch, _ = read_genotype_file(path)
    else:
        arch = path.read_text().strip()
    try:
        return nb201_arch.canonical(arch)
    except nb201_arch.ArchStringError as err:
        raise OptionError(f'{path}: {err}') from None
