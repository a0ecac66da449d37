"""Speed and memory of TSSTFN: prediction throughput on a 2048 x 2048 scene, training time, peak
resident memory, the floating-point work per 192 x 192 patch at the paper's width and the fraction
of the machine's measured matmul peak that prediction reaches.

    .venv/bin/python bench/bench_speed.py [--size 2048] [--device cpu|cuda] [--widths 8,64]

Each configuration runs in its own process so that its peak memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def matmul_peak(device: str) -> float:
    """Measured float32 matmul throughput (FLOP/s), the machine's practical peak."""
    import torch

    n = 4096 if device != "cpu" else 2048
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    for _ in range(2):
        a @ b
    if device != "cpu":
        torch.cuda.synchronize()
    reps = 20 if device != "cpu" else 5
    best = 0.0
    for _ in range(5):  # best of five: the practical peak, not an average over interruptions
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        if device != "cpu":
            torch.cuda.synchronize()
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t))
    return best


def patch_flops(width: int, patch: int = 192, n_base: int = 7) -> float:
    """Forward FLOPs of one patch (convolutions and matmuls by PyTorch's counter, LSTMs by formula)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from tsstfn_crop_mapper.core.fusion.model import TSSTFN

    model = TSSTFN(n_base, patch, width).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(torch.zeros(1, 2 * n_base + 1, patch, patch))
    counted = counter.get_total_flops()
    lstm = 0
    # LSTM: per time step 2 * 4 * (f*h + h*h); time steps = channels; batch = strips of the level
    for level, cl in enumerate(model.cl):
        size = patch // (2 ** (level + 1))
        channels = cl.project.out_channels
        for path in cl.paths:
            f, h = path.lstm.input_size, path.lstm.hidden_size
            lstm += 2 * 4 * (f * h + h * h) * channels * (size // path.rows)
    lstm_counted = any("lstm" in str(k).lower() for k in counter.get_flop_counts().get("Global", {}))
    return counted + (0 if lstm_counted else lstm)


def run_predict(width: int, size: int, device: str, patch: int) -> dict:
    import resource
    import tempfile
    from dataclasses import asdict

    import numpy as np
    import torch
    from osgeo import osr

    from tsstfn_crop_mapper.core.fusion.config import TrainConfig
    from tsstfn_crop_mapper.core.fusion.model import TSSTFN
    from tsstfn_crop_mapper.core.fusion.prediction import predict_to_file
    from tsstfn_crop_mapper.core.inputs.grid import Grid

    torch.set_num_threads(torch.get_num_threads())
    cfg = TrainConfig(width=width, patch=patch, device=device)
    meta = {"n_base": 7, "config": asdict(cfg), "normalisation": {"mean": 0.4, "std": 0.25}}
    model = TSSTFN(7, patch, width).to(device).eval()
    rng = np.random.default_rng(0)
    tile = rng.uniform(0, 0.9, (15, 256, 256)).astype(np.float32)

    def read(x, y, w, h):  # a periodic synthetic input: no scene-sized array in memory
        ys = (np.arange(y, y + h) % 256)[:, None]
        xs = (np.arange(x, x + w) % 256)[None, :]
        return tile[:, ys, xs]

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32651)
    grid = Grid(srs.ExportToWkt(), (640000.0, 10.0, 0.0, 5150000.0, 0.0, -10.0), size, size)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        predict_to_file(model, meta, read, grid, f"{tmp}/p.tif", batch_size=16 if device != "cpu" else 4)
        if device != "cpu":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t
    stride = patch - 10
    n_patches = (-(-(size - patch) // stride) + 1) ** 2
    return {
        "seconds": seconds,
        "pixels_per_s": size * size / seconds,
        "patches": n_patches,
        "patches_per_s": n_patches / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "gpu_peak_mb": torch.cuda.max_memory_allocated() / 2**20 if device != "cpu" else None,
    }


def run_train(width: int, device: str, patch: int, batches: int) -> dict:
    import resource

    import numpy as np
    import torch

    from tsstfn_crop_mapper.core.fusion.model import TSSTFN

    model = TSSTFN(7, patch, width).to(device).train()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((16, 15, patch, patch)).astype(np.float32)).to(device)
    y = x[:, -1:].clone()
    use_amp = device != "cpu"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    def step():
        with torch.autocast("cuda" if use_amp else "cpu", enabled=use_amp):
            loss = ((model(x).float() - y) ** 2).mean()
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    step()
    if device != "cpu":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(batches):
        step()
    if device != "cpu":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - t) / batches
    return {
        "seconds_per_batch16": seconds,
        "patches_per_s": 16 / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "gpu_peak_mb": torch.cuda.max_memory_allocated() / 2**20 if device != "cpu" else None,
    }


def child(argv: list[str]) -> None:
    kind, width, size, device, patch, batches = argv
    out = (
        run_predict(int(width), int(size), device, int(patch))
        if kind == "predict"
        else run_train(int(width), device, int(patch), int(batches))
    )
    print(json.dumps(out))


def spawn(*args) -> dict:
    res = subprocess.run([sys.executable, __file__, "--child", *map(str, args)], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--widths", default="8,64")
    parser.add_argument("--train-batches", type=int, default=2)
    args = parser.parse_args()
    import torch

    widths = [int(w) for w in args.widths.split(",")]
    peak = matmul_peak(args.device)
    name = torch.cuda.get_device_name(0) if args.device != "cpu" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; measured float32 matmul peak {peak / 1e9:.1f} GFLOP/s\n")
    print(
        "| width | params | GFLOP / 192 px patch (fwd) | predict 2048² s | Mpx/s | patches/s | achieved GFLOP/s | % of peak | peak RSS MB | GPU MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    from tsstfn_crop_mapper.core.fusion.model import TSSTFN, count_parameters

    for w in widths:
        flops = patch_flops(w)
        r = spawn("predict", w, args.size, args.device, 192, 0)
        achieved = flops * r["patches_per_s"]
        print(
            f"| {w} | {count_parameters(TSSTFN(7, 192, w)) / 1e6:.2f} M | {flops / 1e9:.1f} | {r['seconds']:.1f} | {r['pixels_per_s'] / 1e6:.3f} | "
            f"{r['patches_per_s']:.2f} | {achieved / 1e9:.1f} | {100 * achieved / peak:.0f} | {r['peak_rss_mb']:.0f} | {r['gpu_peak_mb'] or '-'} |",
            flush=True,
        )
    print("\n| width | training: s per batch of 16 (192 px) | patches/s | peak RSS MB | GPU MB |")
    print("|---|---|---|---|---|")
    for w in widths:
        r = spawn("train", w, 0, args.device, 192, args.train_batches)
        print(
            f"| {w} | {r['seconds_per_batch16']:.1f} | {r['patches_per_s']:.2f} | {r['peak_rss_mb']:.0f} | {r['gpu_peak_mb'] or '-'} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
