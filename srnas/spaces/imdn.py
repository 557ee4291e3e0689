"""IMDN search space (SA-DARTS §4.4): c1..c4 of every IMD block chosen among 12 candidates.

The network skeleton is the foundation's ``IMDNNetwork`` (official layer order);
this module only supplies the four convs per block through its conv factory.
A child built from a genotype whose four ops are ``conv_3x3`` is exactly the
original IMDN (same modules, same state-dict keys).
"""
from srnas.spaces.imdn_network import CONV_POSITIONS, IMDNNetwork, imdb_channel_plan
from srnas.ops.sr_ops import build_imdn_op
from srnas.spaces.genotypes import load_genotype


class IMDNChild(IMDNNetwork):
    """IMDN whose c1..c4 (in all blocks) are the genotype's four candidates."""

    def __init__(self, genotype, upscale=2, num_in_ch=3, num_feat=64, num_blocks=6, num_out_ch=None):
        genotype = load_genotype(genotype, space='imdn')
        chosen = dict(zip(CONV_POSITIONS, genotype['ops']))

        def factory(position, in_channels, out_channels, block_index=None):
            return build_imdn_op(chosen[position], in_channels, out_channels, bn_affine=True)

        super().__init__(upscale, num_in_ch=num_in_ch, num_feat=num_feat, num_blocks=num_blocks,
                         num_out_ch=num_out_ch, conv_factory=factory)
        self.genotype = genotype


__all__ = ['IMDNChild', 'imdb_channel_plan', 'CONV_POSITIONS']
