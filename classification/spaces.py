"""The classification spaces as registered search spaces: DARTS and NAS-Bench-201.

A ``ClassificationSpace`` adds to the core's ``SearchSpace`` record what the
classification commands need: option defaults of the search and evaluation
networks, their builders, and the genotype in its three forms (object, JSON,
the YAML ``genotype:`` value). ``classification.models`` looks a space up by
``space.type``; a new space is one module that registers such a record.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict

from classification.darts import genotypes as darts_genotypes
from classification.darts.eval_net import NetworkCIFAR, NetworkImageNet
from classification.darts.search_net import DartsSearchNetwork
from classification.nb201 import arch as nb201_arch
from classification.nb201.search_net import NB201SearchNetwork
from classification.nb201.tiny_network import TinyNetwork
from classification.ops import DARTS_PRIMITIVES, DARTS_PRIMITIVES_NO_NONE
from classification.options import OptionError
from srnas.nas.genotype import read_genotype_file
from srnas.nas.registry import SPACE_REGISTRY, SearchSpace


@dataclass(frozen=True)
class ClassificationSpace(SearchSpace):
    search_defaults: Dict[str, Any] = field(default_factory=dict)
    eval_defaults: Dict[str, Any] = field(default_factory=dict)
    build_search: Callable = None   # (space options, num_classes) -> supernet
    build_eval: Callable = None     # (space options, genotype, num_classes) -> network
    to_json: Callable = None        # genotype -> its JSON form (the genotype file's 'genotype')
    from_json: Callable = None      # the JSON form -> genotype
    resolve: Callable = None        # the YAML 'genotype:' value (name, string, file) -> genotype
    meta: Callable = None           # genotype -> extra fields of its genotype file


# ----------------------------------------------------------------------------- DARTS
PRIMITIVE_SETS = {'darts': DARTS_PRIMITIVES, 'darts_no_none': DARTS_PRIMITIVES_NO_NONE}


def _primitives(value):
    if isinstance(value, str):
        if value not in PRIMITIVE_SETS:
            raise OptionError(f"space.primitives '{value}' is not one of {sorted(PRIMITIVE_SETS)} or a list of ops")
        return PRIMITIVE_SETS[value]
    if isinstance(value, (list, tuple)):
        return tuple(value)
    raise OptionError(f'space.primitives must be a name or a list of op names, got {value!r}')


def _darts_eval(space, genotype, num_classes):
    networks = {'cifar': NetworkCIFAR, 'imagenet': NetworkImageNet}
    if space['network'] not in networks:
        raise OptionError(f"space.network must be 'cifar' or 'imagenet', got {space['network']!r}")
    return networks[space['network']](genotype, channels=space['channels'], num_classes=num_classes,
                                      layers=space['layers'], auxiliary=space['auxiliary'],
                                      drop_path_prob=space['drop_path_prob'])


def _darts_resolve(value):
    if isinstance(value, dict):
        return darts_genotypes.from_dict(value)
    text = str(value)
    if text in darts_genotypes.PUBLISHED or text.lstrip().startswith(('{', 'Genotype(')):
        return darts_genotypes.parse(text)
    return darts_genotypes.load(text)


SPACE_REGISTRY.register(ClassificationSpace(
    'darts', lambda genotype, source: darts_genotypes.to_dict(darts_genotypes.from_dict(genotype, where=source)),
    search_defaults={'type': 'darts', 'channels': 16, 'layers': 8, 'primitives': 'darts', 'partial_k': 1,
                     'edge_normalization': False, 'channels_last': False, 'lean_autograd': True},
    eval_defaults={'type': 'darts', 'network': 'cifar', 'channels': 36, 'layers': 20, 'auxiliary': True,
                   'auxiliary_weight': 0.4, 'drop_path_prob': 0.2},
    build_search=lambda space, num_classes: DartsSearchNetwork(
        channels=space['channels'], num_classes=num_classes, layers=space['layers'],
        primitives=_primitives(space['primitives']), partial_k=space['partial_k'],
        edge_normalization=space['edge_normalization'], channels_last=space['channels_last'],
        lean_autograd=space['lean_autograd']),
    build_eval=_darts_eval, to_json=darts_genotypes.to_dict, from_json=darts_genotypes.from_dict,
    resolve=_darts_resolve, meta=lambda genotype: {'repr': repr(genotype)}))


# ----------------------------------------------------------------------------- NAS-Bench-201
def _nb201_resolve(value):
    text = str(value)
    if text.startswith('|'):
        return nb201_arch.canonical(text)
    path = Path(text)
    if not path.is_file():
        raise OptionError(f"genotype '{text}' is neither an NB201 arch string nor an existing file")
    arch = read_genotype_file(path)[1] if path.suffix.lower() in ('.json', '.yml', '.yaml') else path.read_text()
    try:
        return nb201_arch.canonical(str(arch).strip())
    except nb201_arch.ArchStringError as err:
        raise OptionError(f'{path}: {err}') from None


def _nb201_validate(genotype, source):
    try:
        return nb201_arch.canonical(genotype)
    except nb201_arch.ArchStringError as err:
        raise nb201_arch.ArchStringError(f'{source}: {err}') from None


SPACE_REGISTRY.register(ClassificationSpace(
    'nb201', _nb201_validate,
    search_defaults={'type': 'nb201', 'channels': 16, 'cells_per_stage': 5, 'affine': False,
                     'track_running_stats': True, 'partial_k': 1,
                     'alpha_offset': None,  # alpha_offset {op: value}: e.g. a skip-dominant start
                     'channels_last': False,  # NHWC activations: faster CPU kernels (docs/benchmarks.md)
                     'lean_autograd': True},  # MixedOp's lean graph: less memory; false: the plain graph
    eval_defaults={'type': 'nb201', 'channels': 16, 'cells_per_stage': 5},
    build_search=lambda space, num_classes: NB201SearchNetwork(
        channels=space['channels'], cells_per_stage=space['cells_per_stage'], num_classes=num_classes,
        affine=space['affine'], track_running_stats=space['track_running_stats'], partial_k=space['partial_k'],
        alpha_offset=space['alpha_offset'], channels_last=space['channels_last'],
        lean_autograd=space['lean_autograd']),
    build_eval=lambda space, genotype, num_classes: TinyNetwork(
        genotype, channels=space['channels'], cells_per_stage=space['cells_per_stage'], num_classes=num_classes),
    to_json=lambda genotype: genotype, from_json=lambda genotype: genotype, resolve=_nb201_resolve,
    meta=lambda genotype: {'index': nb201_arch.arch_index(genotype)}))
