"""The TSSTFN network (paper 2.2.1, Figures 5-6): UNet + CBAM + CL (CBAM and LSTM) modules.

Shapes (``B`` batch, ``N`` base pairs, ``P`` patch side, ``w`` base width, 64 in the paper)::

    input   (B, 2N + 1, P, P)   M_1, S_1, ..., M_N, S_N, M_target  (normalised NDVI, time order)
    block1  (B, w, P, P)        -> CBAM (residual)
    block2  (B, 2w, P/2, P/2)   -> CL
    block3  (B, 4w, P/4, P/4)   -> CL
    block4  (B, 8w, P/8, P/8)   -> CL
    block5  (B, 16w, P/16, P/16)
    decoder 8w, 4w, 2w, w       up-sample, concatenate the encoder features, conv block
    output  (B, 1, P, P)        3x3 convolution: the target-date fine NDVI

``P`` must be a multiple of 16 (four poolings). Each CL module's LSTM reads the channels as its
sequence and ``rows x width`` pixels as the features of one step (``lstm_rows`` = (4, 2, 4) gives
the paper's 384, 96 and 96 features at P = 192); the LSTM weights therefore fix the patch size,
which the model file records. ``docs/model.md`` lists every reading of the paper and its reason.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import OutputMode


class ConvBlock(nn.Sequential):
    """Two [3x3 conv -> batch norm -> channel dropout -> LeakyReLU] layers."""

    def __init__(self, cin: int, cout: int, dropout: float = 0.3) -> None:
        """Layers for ``cin`` input and ``cout`` output channels."""
        layers: list[nn.Module] = []
        for i in range(2):
            layers += [
                nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.Dropout2d(dropout),
                nn.LeakyReLU(0.01, inplace=True),
            ]
        super().__init__(*layers)


#: the channel MLP's reduction ratio: the paper gives none; Woo et al. (2018) use 16. Ours is 8, so
#: that the narrow networks a CPU can train keep more than one hidden unit (16 channels: 2, not 1);
#: saved models and the measured results use it (``docs/model.md``)
CBAM_REDUCTION = 8


class CBAM(nn.Module):
    """Channel then spatial attention; ``x + x * Mc * Ms`` (the paper adds the input back)."""

    def __init__(self, channels: int, reduction: int = CBAM_REDUCTION, kernel: int = 7) -> None:
        """Attention over ``channels``.

        Args:
            channels: feature maps in and out.
            reduction: the channel MLP has ``channels // reduction`` hidden units (at least 1).
                :data:`CBAM_REDUCTION` (8) is this project's choice, not CBAM's default: Woo et al.
                (2018) use 16 and the paper gives no value.
            kernel: the spatial attention's convolution size (7, Woo et al.'s).
        """
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1))
        self.spatial = nn.Conv2d(2, 1, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        channel = torch.sigmoid(
            self.mlp(torch.amax(x, dim=(2, 3), keepdim=True)) + self.mlp(torch.mean(x, dim=(2, 3), keepdim=True))
        )
        y = x * channel
        spatial = torch.sigmoid(self.spatial(torch.cat([y.amax(dim=1, keepdim=True), y.mean(dim=1, keepdim=True)], dim=1)))
        return x + y * spatial


class CLPath(nn.Module):
    """One CL path: CBAM, then an LSTM over the channels of each ``rows``-row strip.

    (B, C, H, W) -> strips (B * H/rows, C, rows * W) -> LSTM (hidden = rows * W) -> (B, C, H, W).
    The strips share the LSTM (one LSTM per strip would cost 24 x 1.2 M parameters per path at
    the paper's size); their outputs are put back in order, the paper's "sequentially connected".
    """

    def __init__(self, channels: int, rows: int, width: int) -> None:
        """A path over ``channels`` feature maps of ``width`` pixels, ``rows`` rows per LSTM step."""
        super().__init__()
        self.rows = rows
        self.cbam = CBAM(channels)
        self.lstm = nn.LSTM(rows * width, rows * width, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        b, c, h, w = x.shape
        y = self.cbam(x)
        strips = (
            y.reshape(b, c, h // self.rows, self.rows * w).permute(0, 2, 1, 3).reshape(b * (h // self.rows), c, self.rows * w)
        )
        out, _ = self.lstm(strips)
        return out.reshape(b, h // self.rows, c, self.rows * w).permute(0, 2, 1, 3).reshape(b, c, h, w)


class CL(nn.Module):
    """Nine CL paths over the same input, concatenated on channels, projected back by a 1x1 conv."""

    def __init__(self, channels: int, size: int, rows: int, paths: int = 9) -> None:
        """``paths`` CL paths over ``channels`` maps of ``size`` x ``size`` pixels."""
        super().__init__()
        if size % rows:
            raise ValueError(f"CL level of {size} px cannot be split into strips of {rows} rows")
        self.paths = nn.ModuleList(CLPath(channels, rows, size) for _ in range(paths))
        self.project = nn.Conv2d(paths * channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        return self.project(torch.cat([p(x) for p in self.paths], dim=1))


class GaussianBlur(nn.Module):
    """A fixed (untrained) Gaussian blur of a one-channel map, edges replicated; ``sigma`` 0 is the identity."""

    def __init__(self, sigma: float) -> None:
        """A blur of ``sigma`` pixels (the kernel reaches three sigmas)."""
        super().__init__()
        radius = max(0, round(3 * sigma))
        t = torch.arange(-radius, radius + 1, dtype=torch.float32)
        k = torch.exp(-0.5 * (t / sigma) ** 2) if sigma > 0 else torch.ones(1)
        self.radius = radius
        self.kernel: torch.Tensor
        self.register_buffer("kernel", (k / k.sum()).reshape(1, 1, 1, -1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) -> (B, 1, H, W): separable, rows then columns."""
        if self.radius == 0:
            return x
        r, k = self.radius, self.kernel.to(x.dtype)
        x = nn.functional.conv2d(nn.functional.pad(x, (r, r, 0, 0), mode="replicate"), k)
        return nn.functional.conv2d(nn.functional.pad(x, (0, 0, r, r), mode="replicate"), k.transpose(2, 3))


def _rows_for(size: int, wanted: int) -> int:
    """The largest divisor of ``size`` not above ``wanted`` (so any multiple-of-16 patch works)."""
    return max(r for r in range(1, wanted + 1) if size % r == 0)


class TSSTFN(nn.Module):
    """TSSTFN for ``n_base`` base pairs and square patches of ``patch`` pixels.

    Args:
        n_base: number of MODIS/Sentinel-2 base pairs (7 in the paper).
        patch: patch side in pixels, a multiple of 16 (192 in the paper).
        width: filters of the first block (64 in the paper; 8-16 runs on a laptop CPU).
        dropout: channel dropout probability (0.3).
        lstm_rows: rows per LSTM step at the three CL levels ((4, 2, 4): 384, 96, 96 features at 192).
        cl_paths: parallel CBAM+LSTM paths per CL module (9).
        output: ``modis_residual`` (output = target MODIS + network), ``fine_residual`` (latest base
            Sentinel-2 + network, the last convolution zero at start) or ``direct`` (the paper's).
    """

    def __init__(
        self,
        n_base: int,
        patch: int = 192,
        width: int = 64,
        dropout: float = 0.3,
        lstm_rows: tuple[int, int, int] = (4, 2, 4),
        cl_paths: int = 9,
        output: OutputMode | str = OutputMode.MODIS_RESIDUAL,
        prior_smoothing_px: float = 8.0,
    ) -> None:
        """Build the network (arguments in the class docstring).

        Raises:
            ValueError: ``patch`` is not a multiple of 16 (the message suggests the nearest one).
        """
        super().__init__()
        if patch % 16:
            raise ValueError(
                f"patch size {patch} is not a multiple of 16 (the UNet pools four times); "
                f"pad or choose e.g. {16 * max(1, round(patch / 16))}"
            )
        self.n_base, self.patch, self.output = n_base, patch, OutputMode(output)
        w = width
        cin = 2 * n_base + 1
        self.enc = nn.ModuleList(
            [
                ConvBlock(cin, w, dropout),
                ConvBlock(w, 2 * w, dropout),
                ConvBlock(2 * w, 4 * w, dropout),
                ConvBlock(4 * w, 8 * w, dropout),
                ConvBlock(8 * w, 16 * w, dropout),
            ]
        )
        self.cbam = CBAM(w)
        self.cl = nn.ModuleList(
            CL(c, patch // s, _rows_for(patch // s, r), cl_paths) for c, s, r in zip((2 * w, 4 * w, 8 * w), (2, 4, 8), lstm_rows)
        )
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList(nn.ConvTranspose2d(c, c // 2, 2, stride=2) for c in (16 * w, 8 * w, 4 * w, 2 * w))
        self.dec = nn.ModuleList(ConvBlock(c, c // 2, dropout) for c in (16 * w, 8 * w, 4 * w, 2 * w))
        self.head = nn.Conv2d(w, 1, 3, padding=1)
        if self.output.has_prior:  # the untrained network is its prior
            nn.init.zeros_(self.head.weight)
            assert self.head.bias is not None
            nn.init.zeros_(self.head.bias)
        self.smooth = GaussianBlur(prior_smoothing_px) if self.output is OutputMode.CHANGE_RESIDUAL else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 2N+1, P, P) normalised NDVI -> (B, 1, P, P)."""
        if x.shape[1] != 2 * self.n_base + 1 or x.shape[-2:] != (self.patch, self.patch):
            raise ValueError(f"expected input (B, {2 * self.n_base + 1}, {self.patch}, {self.patch}), got {tuple(x.shape)}")
        skips = []
        h = self.cbam(self.enc[0](x))
        skips.append(h)
        for i in range(1, 4):
            h = self.cl[i - 1](self.enc[i](self.pool(h)))
            skips.append(h)
        h = self.enc[4](self.pool(h))
        for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
            h = dec(torch.cat([up(h), skip], dim=1))
        out = self.head(h)
        if self.output is OutputMode.MODIS_RESIDUAL:
            return out + x[:, -1:]
        if self.output is OutputMode.FINE_RESIDUAL:
            return out + x[:, -2:-1]  # the latest base Sentinel-2 (gaps filled by fill_base_gaps)
        if self.smooth is not None:  # latest base Sentinel-2 + the smoothed coarse change since its date
            return out + x[:, -2:-1] + self.smooth(x[:, -1:] - x[:, -3:-2])
        return out


def count_parameters(model: nn.Module) -> int:
    """The number of trainable and fixed parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())
