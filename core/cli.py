"""Command line: ``python -m tsstfn_crop_mapper <command>`` (the same core functions as the plugin)."""

from __future__ import annotations

import argparse
import logging
import sys

from .errors import TsstfnError


def _scene(args) -> None:
    from .synthetic import generate_scene

    manifest = generate_scene(args.out, size=args.size, seed=args.seed)
    print(f"synthetic two-season scene written to {args.out} ({manifest['size']} x {manifest['size']} px); see scene.json")


def _demo(args) -> None:
    from pathlib import Path

    from .synthetic import generate_scene

    out = Path(args.out)
    generate_scene(out / "scene", size=args.size, seed=args.seed)
    print(f"demo scene: {out / 'scene'} (scene.json lists every file and its role)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tsstfn_crop_mapper", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("scene", help="write the synthetic two-season scene")
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--seed", type=int, default=42)
    p.set_defaults(func=_scene)
    p = sub.add_parser("demo", help="generate the demo scene and run the demo job")
    p.add_argument("--out", default="demo_output")
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--seed", type=int, default=42)
    p.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except TsstfnError as exc:  # a clear message, never a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
