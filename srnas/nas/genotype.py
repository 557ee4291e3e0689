"""Deriving discrete architectures from alpha, and genotype files.

* ``derive_argmax``: the op with the largest weight per position (SR spaces,
  NAS-Bench-201 - there ``none`` is a real choice, so nothing is excluded).
* ``derive_top_k_edges``: for cells whose nodes choose k of their incoming
  edges (DARTS, PC-DARTS): edge strength = max over non-excluded ops of
  ``softmax(alpha_e)_o * edge_weight_e``; keep the k strongest edges and on
  each the argmax non-excluded op.
* ``top_k_indices``: the k largest entries of a weight vector (DLSR cell
  connections).
* ``save_genotype`` / ``read_genotype_file``: the one genotype file format of
  every space, ``{"space": <space name>, "genotype": <the space's JSON>, **meta}``
  (JSON, or YAML for .yml/.yaml), written atomically; the reader also accepts
  the shapes of srnas 0.1 (``{"genotype": ...}`` with the space inside, NB201's
  ``{"space": "nb201", "arch": ...}`` and a bare genotype mapping).
* ``load_genotype``: any mapping file, read with clear errors.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from srnas.nas.errors import NASConfigError
from srnas.nas.files import read_mapping, write_mapping


def _probabilities(alpha: torch.Tensor, already_probabilities: bool) -> torch.Tensor:
    alpha = alpha.detach().cpu()  # derivation is host-side (names, lists): alphas of a CUDA supernet come over
    return alpha if already_probabilities else torch.softmax(alpha, dim=-1)


def _allowed_mask(op_names: Sequence[str], exclude: Sequence[str], width: int) -> torch.Tensor:
    if len(op_names) != width:
        raise NASConfigError(f'{len(op_names)} op names for alpha rows of {width} candidates')
    mask = torch.tensor([name not in exclude for name in op_names])
    if not mask.any():
        raise NASConfigError(f'every candidate op {list(op_names)} is excluded by {list(exclude)}')
    return mask


def derive_argmax(alpha: torch.Tensor, op_names: Sequence[str], exclude: Sequence[str] = (),
                  probabilities: bool = False) -> List[str]:
    """Op name with the largest weight in each row of ``alpha`` (excluded names never win)."""
    probs = _probabilities(alpha, probabilities).reshape(-1, alpha.shape[-1])
    mask = _allowed_mask(op_names, exclude, probs.shape[-1])
    masked = probs.masked_fill(~mask, float('-inf'))
    return [op_names[i] for i in masked.argmax(dim=-1).tolist()]


def top_k_indices(weights: torch.Tensor, k: int) -> List[int]:
    """Indices of the k largest entries, strongest first (ties: lower index first)."""
    weights = weights.detach().reshape(-1)
    if not 1 <= k <= weights.numel():
        raise NASConfigError(f'cannot keep top {k} of {weights.numel()} entries')
    order = sorted(range(weights.numel()), key=lambda i: (-float(weights[i]), i))
    return order[:k]


def darts_cell_edges(steps: int = 4) -> List[List[Tuple[int, int]]]:
    """DARTS edge layout: node i has edges from states 0..i+1; returns per node [(edge_index, source)]."""
    nodes, edge = [], 0
    for node in range(steps):
        nodes.append([(edge + src, src) for src in range(node + 2)])
        edge += node + 2
    return nodes


def derive_top_k_edges(alpha: torch.Tensor, op_names: Sequence[str], node_edges: Sequence[Sequence[Tuple[int, int]]],
                       k: int = 2, edge_weights: Optional[torch.Tensor] = None,
                       exclude: Sequence[str] = ('none',), probabilities: bool = False) -> List[Tuple[str, int]]:
    """Keep the k strongest incoming edges of every node; returns ``[(op_name, source), ...]`` node by node.

    ``alpha``: (num_edges, num_ops). ``edge_weights``: optional per-edge weights
    (already normalised per node, e.g. PC-DARTS ``softmax(beta)`` of each node).
    """
    probs = _probabilities(alpha, probabilities)
    if probs.dim() != 2:
        raise NASConfigError(f'derive_top_k_edges expects alpha of shape (edges, ops), got {tuple(probs.shape)}')
    mask = _allowed_mask(op_names, [n for n in exclude if n in op_names], probs.shape[-1])
    if edge_weights is not None:
        edge_weights = edge_weights.detach().cpu().reshape(-1)
        if edge_weights.numel() != probs.shape[0]:
            raise NASConfigError(f'{edge_weights.numel()} edge weights for {probs.shape[0]} edges')
        probs = probs * edge_weights[:, None]
    masked = probs.masked_fill(~mask, float('-inf'))
    chosen = []
    for edges in node_edges:
        if len(edges) < k:
            raise NASConfigError(f'a node with {len(edges)} incoming edges cannot keep {k}')
        strength = torch.stack([masked[e].max() for e, _ in edges])
        for position in top_k_indices(strength, k):
            edge, source = edges[position]
            chosen.append((op_names[int(masked[edge].argmax())], source))
    return chosen


def save_genotype(space: str, genotype, path, **meta):
    """Write ``{"space": space, "genotype": genotype, **meta}`` atomically; returns the path."""
    if not isinstance(space, str) or not space:
        raise NASConfigError(f'a genotype file needs the name of its space, got {space!r}')
    return write_mapping(path, {'space': space, 'genotype': genotype, **meta})


def read_genotype_file(path) -> Tuple[Optional[str], object, Dict]:
    """``(space, genotype, meta)`` of a genotype file, in the current format or an older one."""
    data = read_mapping(path, what='genotype file')
    key = 'genotype' if 'genotype' in data else 'arch' if 'arch' in data else None  # arch: NB201 of srnas 0.1
    if key is None:  # a bare genotype mapping
        return data.get('space'), data, {}
    genotype, meta = data[key], {k: v for k, v in data.items() if k not in ('space', key)}
    space = data.get('space') or (genotype.get('space') if isinstance(genotype, dict) else None)
    return space or ('nb201' if key == 'arch' else None), genotype, meta


def load_genotype(path, required_keys: Sequence[str] = ()) -> Dict:
    """Read a genotype mapping; missing file, bad syntax or missing keys raise NASConfigError."""
    data = read_mapping(path, what='genotype file')
    missing = [key for key in required_keys if key not in data]
    if missing:
        raise NASConfigError(f'genotype file {path} lacks key(s) {missing}')
    return data
