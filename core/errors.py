"""Errors meant for the analyst: each message names the layer or file and what to do."""

from __future__ import annotations


class TsstfnError(Exception):
    """Base class of every error whose message can be shown to the user as it is."""


class InputError(TsstfnError):
    """A raster, vector or job input is unusable (no CRS, no overlap, all nodata, ...)."""


class DateError(InputError):
    """An acquisition date could not be found or does not fit the job."""


class ModelFileError(TsstfnError):
    """A saved model file is missing, corrupt, truncated or incompatible."""


class DependencyError(TsstfnError):
    """A Python package the work needs is missing or broken; the message holds the install command."""


class CancelledError(TsstfnError):
    """The user cancelled the work; partial outputs have been removed."""

    def __init__(self, message: str = "Cancelled by the user.") -> None:
        """Create the error with the message shown to the user."""
        super().__init__(message)


class PlaceError(InputError):
    """An input error at one place of a job, so that a form can point at it.

    Attributes:
        place: ``(list, row, column)``: the pair list (``reference``, ``prediction``, ``targets``),
            the row's index in it and the column (``date``, ``coarse``, ``coarse_band``, ``fine``,
            ``fine_band``, ``fine_mask``); a job field's name as ``(field, None, None)``; or a setting of a
            whole column of rasters as ``("column", None, "coarse.red_band")``.
    """

    def __init__(self, message: str, place: tuple[str, int | None, str | None]) -> None:
        """Create the error with its message and place."""
        super().__init__(message)
        self.place = place
