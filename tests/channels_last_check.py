"""Shared check of a ``channels_last`` option: NHWC gives the NCHW loss and gradients and really runs NHWC."""
import torch


def assert_nhwc_matches_nchw(build, watched_conv, loss_fn, make_inputs, grad_atol):
    """``build(channels_last)`` makes a model; ``watched_conv(model)`` is a conv whose output must be NHWC;
    ``make_inputs()`` draws (input, target) after both models are built (seed 0).

    Gradients may differ by float32 rounding only (NHWC kernels sum in another order): at most 1e-3 of
    each gradient's scale plus ``grad_atol`` (for gradients that are ~0, e.g. a conv bias before BN).
    Returns the two models after the step (NCHW, NHWC), e.g. to compare their BN running statistics.
    """
    torch.manual_seed(0)
    plain, nhwc = build(False).train(), build(True).train()
    nhwc.load_state_dict(plain.state_dict())
    spatial = [m for m in nhwc.modules() if isinstance(m, torch.nn.Conv2d) and m.weight.shape[-1] > 1]
    assert spatial and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in spatial)
    seen = []
    watched_conv(nhwc).register_forward_hook(
        lambda _m, _i, out: seen.append(out.is_contiguous(memory_format=torch.channels_last)))
    inputs = make_inputs()
    results = []
    for model in (plain, nhwc):
        loss = loss_fn(model(inputs[0]), inputs[1])
        results.append((loss.detach(), torch.autograd.grad(loss, list(model.parameters()))))
    (loss_plain, grads_plain), (loss_nhwc, grads_nhwc) = results
    assert seen == [True], 'the watched conv did not run in NHWC'
    torch.testing.assert_close(loss_nhwc, loss_plain, rtol=1e-5, atol=1e-6)
    for (name, _), g_nhwc, g_plain in zip(plain.named_parameters(), grads_nhwc, grads_plain):
        assert (g_nhwc - g_plain).abs().max() <= 1e-3 * g_plain.abs().max() + grad_atol, name
    return plain, nhwc
