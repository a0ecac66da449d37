"""The registry of fusion methods: a new method is one module plus one entry here.

``run_job``, the experiment, the dialog, Processing and the reports read :data:`METHODS`; see
``docs/extending.md`` for the recipe.
"""

from __future__ import annotations

from ..options import Registry
from . import baselines, starfm, tsstfn
from .base import FusionMethod, NumberParam

#: STARFM's search distance, as the dialog shows it
_WINDOW = NumberParam(
    "window_m",
    "STARFM search distance",
    10,
    5000,
    " m",
    "Half of STARFM's search window in metres (Gao's MAX_SEARCH_DISTANCE): 155 m is 31 x 31 pixels at 10 m; "
    "Gao used 750-1500 m for 30 m Landsat. The work grows with the window's area.",
)

METHODS: Registry[FusionMethod] = Registry("fusion method", lambda m: m.name, lambda m: m.prefix)


def register(method: FusionMethod) -> FusionMethod:
    """Add ``method`` to :data:`METHODS` (its name and file prefix must be new); returns it."""
    return METHODS.register(method)


def get_method(name: str, field: str = "compare") -> FusionMethod:
    """The method called ``name``; an :class:`~..errors.InputError` naming ``field`` lists the known ones."""
    return METHODS.lookup(name, f"Job field '{field}': ")


register(
    FusionMethod(
        "tsstfn",
        "TSSTFN",
        "The time-series spatiotemporal fusion network (UNet + CBAM + LSTM) trained on the reference year.",
        tsstfn.TsstfnParams,
        tsstfn.fuse,
        "fused_ndvi",
        learns=True,
    )
)
register(
    FusionMethod(
        "starfm",
        "STARFM",
        "Gao et al.'s weighted-neighbour fusion from the latest clear pair before the target.",
        starfm.StarfmParams,
        starfm.fuse,
        "starfm_ndvi",
        needs_pixel_size=True,
        seconds_per_target_mpx=7.0,  # a 31 x 31 px window on one core (bench_speed)
        dialog_params=(_WINDOW,),
    )
)
register(
    FusionMethod(
        "starfm2",
        "STARFM (two pairs)",
        "STARFM from the nearest clear pairs before and after the target (needs a pair after it: benchmarks).",
        starfm.StarfmParams,
        starfm.fuse_two_sided,
        "starfm2_ndvi",
        needs_later_pair=True,
        needs_pixel_size=True,
        seconds_per_target_mpx=14.0,  # two one-pair predictions
    )
)
register(
    FusionMethod(
        "coarse_cubic",
        "MODIS cubic",
        "The target date's MODIS NDVI, cubic-resampled onto the fine grid (a trivial baseline).",
        baselines.NoParams,
        baselines.coarse_cubic,
        "coarse_cubic_ndvi",
    )
)
register(
    FusionMethod(
        "latest_fine",
        "latest clear fine image",
        "The latest clear fine image before the target date, assuming no change (a trivial baseline).",
        baselines.NoParams,
        baselines.latest_fine,
        "latest_fine_ndvi",
    )
)
