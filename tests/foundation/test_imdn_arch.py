"""SRNASIMDN against the published IMDN figures and the official weights."""
import pytest
import torch
from torch import nn

from srnas.archs.imdn_arch import SRNASIMDN
from srnas.spaces.imdn_network import IMDBlock, convert_official_imdn_state_dict, is_official_imdn_state_dict
from srnas.evaluation.complexity import count_params, lr_input_size, multi_adds

# IMDN paper / official code (notes/sr_spaces.md §2.2)
PUBLISHED = {2: (694_404, 158.85), 3: (703_059, 71.54), 4: (715_176, 40.91)}


@pytest.mark.parametrize('scale', [2, 3, 4])
def test_params_and_multi_adds_match_the_paper(scale):
    model = SRNASIMDN(upscale=scale)
    params, gmacs = PUBLISHED[scale]
    assert count_params(model) == params
    assert multi_adds(model, scale) / 1e9 == pytest.approx(gmacs, abs=0.01)


def test_multi_adds_leaves_the_model_clean():
    model = SRNASIMDN(upscale=2, num_feat=16, num_blocks=2)
    before = set(model.state_dict())
    multi_adds(model, 2, output_size=(32, 32))
    assert set(model.state_dict()) == before  # thop buffers went to the deep copy only


def test_lr_input_size_gives_720p_output():
    assert lr_input_size(2) == (360, 640)
    assert lr_input_size(3) == (240, 427)
    assert lr_input_size(4) == (180, 320)


@pytest.mark.parametrize('scale', [2, 3, 4])
def test_official_weights_load_strictly(shared_data, scale):
    state = torch.load(shared_data / 'pretrained' / f'IMDN_x{scale}.pth', map_location='cpu')
    assert is_official_imdn_state_dict(state)
    model = SRNASIMDN(upscale=scale)
    model.load_state_dict(convert_official_imdn_state_dict(state), strict=True)


def test_block_matches_a_hand_written_forward():
    torch.manual_seed(0)
    block = IMDBlock(64).eval()
    x = torch.randn(1, 64, 9, 7)
    act = lambda t: nn.functional.leaky_relu(t, 0.05)  # noqa: E731
    a = act(block.c1(x))
    b = act(block.c2(a[:, 16:]))
    c = act(block.c3(b[:, 16:]))
    d = block.c4(c[:, 16:])
    cat = torch.cat([a[:, :16], b[:, :16], c[:, :16], d], 1)
    stat = cat.std(dim=(2, 3), unbiased=False, keepdim=True) + cat.mean(dim=(2, 3), keepdim=True)
    gate = torch.sigmoid(block.cca.excite(torch.relu(block.cca.squeeze(stat))))
    expected = block.c5(cat * gate) + x
    torch.testing.assert_close(block(x), expected)


def test_conv_factory_supplies_c1_to_c4():
    calls = []

    def factory(position, in_ch, out_ch, block_index=None):
        calls.append((block_index, position, in_ch, out_ch))
        return nn.Sequential(nn.Conv2d(in_ch, out_ch, 5, padding=2), nn.BatchNorm2d(out_ch))

    model = SRNASIMDN(upscale=3, num_blocks=2, conv_factory=factory)
    assert calls[:4] == [(0, 'c1', 64, 64), (0, 'c2', 48, 64), (0, 'c3', 48, 64), (0, 'c4', 48, 16)]
    assert len(calls) == 8 and calls[4][0] == 1
    assert model(torch.rand(1, 3, 8, 6)).shape == (1, 3, 24, 18)
