import pytest
import torch

from tsstfn_crop_mapper.core.fusion.model import CBAM, CL, TSSTFN, count_parameters


def test_shapes_and_gradients_reach_every_module():
    torch.manual_seed(0)
    model = TSSTFN(n_base=2, patch=32, width=4, cl_paths=3)
    x = torch.randn(2, 5, 32, 32)
    y = model(x)
    assert y.shape == (2, 1, 32, 32)
    y.square().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        if "weight" in name and p.dim() > 1:
            assert p.grad.abs().sum() > 0, name


def test_cbam_is_residual_and_cl_keeps_shape():
    x = torch.randn(2, 8, 16, 16)
    assert CBAM(8)(x).shape == x.shape
    cl = CL(8, 16, rows=4, paths=9)
    assert cl(x).shape == x.shape
    assert len(cl.paths) == 9 and cl.paths[0].lstm.input_size == 64


def test_paper_configuration_lstm_features():
    model = TSSTFN(n_base=7, patch=192, width=64)
    assert [cl.paths[0].lstm.input_size for cl in model.cl] == [384, 96, 96]
    assert model.enc[0][0].in_channels == 15
    assert [b[0].out_channels for b in model.enc] == [64, 128, 256, 512, 1024]
    assert 40e6 < count_parameters(model) < 60e6


def test_bad_patch_and_input_messages():
    with pytest.raises(ValueError, match="not a multiple of 16"):
        TSSTFN(2, patch=40)
    with pytest.raises(ValueError, match=r"expected input \(B, 5, 32, 32\)"):
        TSSTFN(2, patch=32, width=4)(torch.zeros(1, 5, 16, 16))


def test_cbam_reduction_ratio_is_ours_and_documented():
    """8 hidden units per 64 channels (Woo et al. would have 4); docs/model.md says which and why."""
    from pathlib import Path

    from tsstfn_crop_mapper.core.fusion.model import CBAM_REDUCTION

    assert CBAM_REDUCTION == 8 and CBAM(64).mlp[0].out_channels == 8 and CBAM(4).mlp[0].out_channels == 1
    model = TSSTFN(n_base=2, patch=32, width=8, cl_paths=1)
    assert model.cbam.mlp[0].out_channels == 1 and [cl.paths[0].cbam.mlp[0].out_channels for cl in model.cl] == [2, 4, 8]
    page = (Path(__file__).resolve().parents[2] / "docs" / "model.md").read_text()
    assert "CBAM's defaults" not in page and "MLP reduction ratio **8**, our choice, not CBAM's default" in page
    assert "Woo et al. (2018), who define CBAM, use\n**16**; this code uses **8**" in page
