"""Build search supernets and evaluation networks from the ``space`` mapping of a YAML file.

``space.type`` names a registered ``ClassificationSpace`` (``classification.spaces``:
darts, nb201); everything space-specific is in its record.
"""
from classification.nb201.tiny_network import TinyNetwork
from classification.options import OptionError, section
from classification.spaces import ClassificationSpace
from srnas.nas.registry import SPACE_REGISTRY


def space_record(kind) -> ClassificationSpace:
    record = SPACE_REGISTRY.get(kind, 'space.type') if kind in SPACE_REGISTRY else None
    if not isinstance(record, ClassificationSpace):
        known = [name for name in SPACE_REGISTRY if isinstance(SPACE_REGISTRY.get(name), ClassificationSpace)]
        raise OptionError(f'space.type must be one of {known}, got {kind!r}')
    return record


def _record_of(opt) -> ClassificationSpace:
    return space_record((opt.get('space') or {}).get('type'))


def search_space_config(opt):
    return section(opt, 'space', _record_of(opt).search_defaults)


def eval_space_config(opt):
    return section(opt, 'space', _record_of(opt).eval_defaults)


def build_search_model(space, num_classes):
    return space_record(space['type']).build_search(space, num_classes)


def build_eval_model(space, genotype, num_classes):
    return space_record(space['type']).build_eval(space, genotype, num_classes)


def forward_logits(model, x):
    """``(logits, aux_logits or None)`` for every network of this package."""
    out = model(x)
    if isinstance(model, TinyNetwork):
        return out[1], None
    if isinstance(out, tuple):
        return out
    return out, None


# ----------------------------------------------------------------------------- genotypes
def genotype_to_json(kind, genotype):
    """The genotype as in a genotype file: ``{space, genotype, ...meta}``."""
    record = space_record(kind)
    return {'space': kind, 'genotype': record.to_json(genotype), **record.meta(genotype)}


def genotype_from_json(kind, data):
    """Inverse of ``genotype_to_json``; also reads srnas 0.1's NB201 ``{'arch': ...}``."""
    return space_record(kind).from_json(data['genotype'] if 'genotype' in data else data['arch'])


def resolve_genotype(kind, value):
    """A genotype from the YAML ``genotype`` value: a published name / arch string, or a file written by search."""
    if value is None:
        raise OptionError("'genotype' is required: a published name (DARTS_V2), an NB201 string, or a genotype file")
    return space_record(kind).resolve(value)
