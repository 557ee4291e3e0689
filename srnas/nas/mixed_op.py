"""Mixed operations: the continuous relaxation of one architecture choice.

``MixedOp`` returns ``sum_o w_o * o(x)``. The caller owns the architecture
parameters and passes the probability vector ``w`` (e.g. ``arch_softmax(alpha)``),
so one alpha can drive many MixedOps (DLSR/IMDN share one alpha over all cells).

Partial channels (PC-DARTS, SAC-DARTS): with ``partial_k = K > 1`` only the
first ``in_channels / K`` channels go through the candidates; the other
channels bypass them (2x2 max-pooled on stride-2 ops), both parts are
concatenated and the channels are shuffled with K groups.

When ``in_channels != out_channels`` (IMDN c2/c3 48->64, c4 48->16) the
candidates map ``cin/K -> cout/K`` and the bypass, ``cin - cin/K`` channels,
is resampled parameter-free to ``cout - cout/K`` channels by adaptive average
pooling along the channel axis (shrinking averages neighbouring channels,
growing repeats/averages them). So the output always has ``cout`` channels, the
bypass adds no weights, and K must divide both channel counts.
"""
from typing import Iterable, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from srnas.nas.errors import NASConfigError
from srnas.nas.lean_autograd import lean_weighted_sum


def arch_softmax(alpha: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """softmax(alpha / T) over the last axis (one distribution per row)."""
    if temperature <= 0:
        raise NASConfigError(f'softmax temperature must be > 0, got {temperature}')
    # alpha / 1 is alpha exactly: the division (and its backward) would be two ATen calls per softmax for nothing
    return F.softmax(alpha if temperature == 1 else alpha / temperature, dim=-1)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups (ShuffleNet / PC-DARTS order)."""
    batch, channels, height, width = x.shape
    if channels % groups:
        raise NASConfigError(f'channel_shuffle: {groups} groups do not divide {channels} channels')
    x = x.view(batch, groups, channels // groups, height, width)
    return x.transpose(1, 2).reshape(batch, channels, height, width)


def shuffled_concat(processed: torch.Tensor, bypass: torch.Tensor, groups: int) -> torch.Tensor:
    """``channel_shuffle(torch.cat([processed, bypass], 1), groups)`` in one copy, keeping channels_last.

    ``processed`` is the first of the ``groups`` equal channel groups and ``bypass`` the other
    ``groups - 1``; output channel ``i * groups + g`` is channel ``i`` of group ``g``. Interleaving with
    one ``cat`` along a new innermost axis copies once (cat + reshape copied twice), and in NHWC the
    output stays NHWC (the reshape made it NCHW, so every later op of a channels_last net converted).
    """
    batch, per_group, height, width = processed.shape
    if bypass.shape[1] != (groups - 1) * per_group:
        raise NASConfigError(f'shuffled_concat: bypass has {bypass.shape[1]} channels, expected '
                             f'{groups - 1} groups of {per_group}')
    if not processed.is_contiguous() and processed.is_contiguous(memory_format=torch.channels_last):
        first = processed.permute(0, 2, 3, 1).unsqueeze(-1)  # (N, H, W, C/g, 1)
        rest = bypass.permute(0, 2, 3, 1).unflatten(-1, (groups - 1, per_group)).transpose(-1, -2)
        return torch.cat([first, rest], dim=-1).flatten(3).permute(0, 3, 1, 2)
    first = processed.unsqueeze(2)  # (N, C/g, 1, H, W)
    rest = bypass.unflatten(1, (groups - 1, per_group)).transpose(1, 2)
    return torch.cat([first, rest], dim=2).flatten(1, 2)


def resample_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Parameter-free channel resampling by adaptive average pooling along the channel axis."""
    if x.shape[1] == channels:
        return x
    return F.adaptive_avg_pool3d(x.unsqueeze(1), (channels, x.shape[2], x.shape[3])).squeeze(1)


def partial_channel_split(in_channels: int, out_channels: Optional[int] = None, partial_k: int = 1) -> Tuple[int, int]:
    """Channels the candidates of a partial-channel MixedOp must take and give.

    Returns ``(in_channels // K, out_channels // K)``; build the candidate ops
    with these, then pass the full counts to ``MixedOp``.
    """
    out_channels = in_channels if out_channels is None else out_channels
    if not isinstance(partial_k, int) or partial_k < 1:
        raise NASConfigError(f'partial_k must be an integer >= 1, got {partial_k!r}')
    for label, count in (('in_channels', in_channels), ('out_channels', out_channels)):
        if count % partial_k:
            raise NASConfigError(
                f'partial channel K={partial_k} does not divide {label}={count}; choose K dividing the channel count')
    return in_channels // partial_k, out_channels // partial_k


class MixedOp(nn.Module):
    """Weighted sum of candidate operations, optionally on a partial slice of the channels.

    Args:
        candidates: the candidate modules, built by the caller (at
            ``partial_channel_split(cin, cout, K)`` channels when K > 1).
        names: optional op names, in the same order (used by genotype helpers).
        in_channels / out_channels: needed when ``partial_k > 1``.
        partial_k: K of PC-DARTS (1 = all channels through the candidates).
        stride: stride of the candidates; stride 2 max-pools the bypass.
    """

    # Candidates whose class sets ``is_zero_op = True`` (the ``none`` op) are not computed: w * 0 adds exactly
    # nothing to the sum and d/dw of it is exactly 0, so skipping changes no output or gradient (alpha's
    # gradient still flows through the softmax). False restores the naive sum (benchmarks compare both).
    skip_zero_candidates = True
    # In inference (eval mode, no grad) a candidate whose weight is exactly 0 (e.g. a one-hot, discretised
    # alpha) is skipped too. Not while training: its BN running statistics and its weights' zero
    # gradients (weight decay, momentum) would then differ from the naive sum.
    skip_zero_weights = True
    # One relu(x) shared by the candidates that start with a ReLU, and BN outputs recomputed in backward
    # instead of kept (srnas.nas.lean_autograd): less memory, the same outputs and gradients bit for bit.
    # False restores the plain autograd graph (benchmarks compare both).
    lean_autograd = True
    # With lean_autograd: max-pool candidates keep their input, not their int64 indices, and recompute
    # the indices in backward (one more max-pool forward per step; same numbers).
    recompute_max_pool_indices = False
    # With lean_autograd: in channels_last activations, affine-free batch-statistics BNs with fewer channels
    # than this run on an NCHW copy (srnas.nas.lean_autograd). Measured with benchmarks/bn_layout.py on an
    # AVX-512 CPU: ATen's NHWC batch norm vectorises over channels; at 2-6 channels (16-32 px) it is
    # 1.3-3x slower than the copy, at 8, 12 and 16 channels faster. Equal to rounding; 0 = BNs as they are.
    nhwc_batch_norm_min_channels = 8
    # With lean_autograd: depthwise convs with stride and dilation > 1 (dil_conv on reduction edges) of
    # channels_last activations run their backward in NCHW: forward + backward 1.8-3.1x faster at 8-16
    # channels (srnas.nas.nhwc_conv, benchmarks/conv_layout.py). Equal to rounding; False = as they are.
    nchw_backward_for_strided_dilated_convs = True

    def __init__(self, candidates: Iterable[nn.Module], names: Optional[Sequence[str]] = None,
                 in_channels: Optional[int] = None, out_channels: Optional[int] = None,
                 partial_k: int = 1, stride: int = 1):
        super().__init__()
        self.candidates = nn.ModuleList(candidates)
        if len(self.candidates) == 0:
            raise NASConfigError('MixedOp needs at least one candidate op')
        if names is not None and len(names) != len(self.candidates):
            raise NASConfigError(f'MixedOp got {len(names)} names for {len(self.candidates)} candidates')
        self.names = list(names) if names is not None else None
        if stride not in (1, 2):
            raise NASConfigError(f'MixedOp stride must be 1 or 2, got {stride}')
        self.stride = stride
        self.partial_k = partial_k
        if partial_k != 1 and in_channels is None:
            raise NASConfigError('MixedOp with partial_k > 1 needs in_channels')
        self.in_channels = in_channels
        self.out_channels = out_channels if out_channels is not None else in_channels
        # also validates partial_k itself (with no channel counts: K = 1, nothing to split)
        self.split_in, self.split_out = partial_channel_split(in_channels or 1, self.out_channels or 1, partial_k)

    def __len__(self):
        return len(self.candidates)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        if weights.dim() != 1 or weights.shape[0] != len(self.candidates):
            raise ValueError(f'MixedOp expects a 1-D weight vector of length {len(self.candidates)}, '
                             f'got shape {tuple(weights.shape)}')
        if self.partial_k == 1:
            return self._weighted_sum(x, weights)
        if x.shape[1] != self.in_channels:
            raise ValueError(f'MixedOp built for {self.in_channels} input channels got {x.shape[1]}')
        processed = self._weighted_sum(x[:, :self.split_in], weights)
        bypass = x[:, self.split_in:]
        if self.stride == 2:
            bypass = F.max_pool2d(bypass, 2, 2)
        bypass = resample_channels(bypass, self.out_channels - self.split_out)
        return shuffled_concat(processed, bypass, self.partial_k)

    def _weighted_sum(self, x, weights):
        inference = not self.training and not torch.is_grad_enabled()
        # one comparison and one read for the edge (on a GPU a read waits for the device), not one per candidate
        zero = ((weights == 0).tolist() if inference and self.skip_zero_weights and not weights.requires_grad
                else None)
        terms = []
        for index, (weight, op) in enumerate(zip(weights, self.candidates)):
            if self.skip_zero_candidates and getattr(op, 'is_zero_op', False):
                continue
            if zero is not None and zero[index]:
                continue
            terms.append((weight, op))
        if self.lean_autograd and not torch.compiler.is_compiling():
            out = lean_weighted_sum(x, terms, self.recompute_max_pool_indices, self.nhwc_batch_norm_min_channels,
                                    self.nchw_backward_for_strided_dilated_convs)
        else:
            out = None
            for weight, op in terms:
                term = weight * op(x)
                out = term if out is None else out + term
        if out is None:  # every candidate skipped: the sum is zeros of the candidates' output shape
            return sum(weight * op(x) for weight, op in zip(weights, self.candidates))
        return out


def set_lean_autograd(model: nn.Module, enabled, option: str = 'lean_autograd') -> None:
    """Switch the lean autograd graph on or off for every MixedOp of ``model`` (the supernets' option).

    On: less memory, the same numbers (CPU: bit for bit). Off: the plain graph, which spent less host time per
    step on an H100 at batch 16 (docs/benchmarks.md, "On a GPU"), where the step is bound by kernel launches.
    """
    if not isinstance(enabled, bool):
        raise NASConfigError(f'{option} must be true or false, got {enabled!r}')
    for module in model.modules():
        if isinstance(module, MixedOp):
            module.lean_autograd = enabled


def edge_normalized_sum(edge_outputs: Sequence[torch.Tensor], edge_alpha: torch.Tensor,
                        temperature: float = 1.0) -> torch.Tensor:
    """PC-DARTS edge normalisation: ``sum_j softmax(beta)_j * out_j`` over a node's incoming edges."""
    if edge_alpha.dim() != 1 or edge_alpha.shape[0] != len(edge_outputs):
        raise ValueError(f'edge_normalized_sum: {len(edge_outputs)} edges but edge weights of shape '
                         f'{tuple(edge_alpha.shape)}')
    weights = arch_softmax(edge_alpha, temperature)
    return sum(w * out for w, out in zip(weights, edge_outputs))
