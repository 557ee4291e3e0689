"""``space.alpha_offset``: a chosen start for alpha, e.g. SA-DARTS Fig. 4's skip-dominant initialisation."""
import pytest
import torch

from classification.models import build_search_model, search_space_config
from classification.nb201.arch import to_str
from srnas.nas import NASConfigError


def test_skip_dominant_start_gives_the_papers_initial_softmax():
    space = search_space_config({'space': {'type': 'nb201', 'channels': 4, 'cells_per_stage': 1,
                                           'alpha_offset': {'skip_connect': 0.1}}})
    torch.manual_seed(0)
    model = build_search_model(space, num_classes=10)
    probs = torch.softmax(model.alphas.detach(), dim=-1)
    # SA-DARTS §3.2: alpha [0, 0.1, 0, 0, 0] -> beta 0.196 for the others, 0.216 for skip (+- the 1e-3 noise)
    assert torch.allclose(probs[:, 1], torch.full((6,), 0.2165), atol=2e-3)
    assert torch.allclose(probs[:, [0, 2, 3, 4]], torch.full((6, 4), 0.1959), atol=2e-3)
    assert model.genotype() == to_str(['skip_connect'] * 6)


def test_unknown_op_in_alpha_offset_is_an_error():
    space = search_space_config({'space': {'type': 'nb201', 'channels': 4, 'cells_per_stage': 1,
                                           'alpha_offset': {'sep_conv_3x3': 1.0}}})
    with pytest.raises(NASConfigError, match=r"alpha_offset: unknown op\(s\) \['sep_conv_3x3'\]"):
        build_search_model(space, num_classes=10)
