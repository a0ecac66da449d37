"""Options from job files, checked in one place.

Each dataclass of options coerces its choice fields (strategy, split, forecast, formats, output
mode, device) with :func:`choice` in ``__post_init__``, so a job file, the dialog and Python code
get the same check and the same message; :func:`options_from_mapping` builds such a dataclass from
a job file's mapping, refusing unknown keys.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any, TypeVar

from .errors import InputError

E = TypeVar("E", bound=Enum)
T = TypeVar("T")
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")

#: upper bounds a machine can do, shared by every entry point (job files, ``classify``, Processing)
MAX_SEED = 2**32 - 1  # NumPy's and scikit-learn's seeds
MAX_BANDS = 10_000  # bands of a stack (dates)
MAX_BLOCK_M = 1e7  # a spatial block's side in metres (a continent)
MAX_WIDTH = 1024  # filters of the network's first block (the paper uses 64)
MAX_PATCH = 4096  # training patch side in pixels
MAX_BATCH = 4096
MAX_EPOCHS = 100_000
MAX_MC_PASSES = 1000
MAX_TREES = 10_000
MAX_DEPTH = 10_000
MAX_CL_PATHS = 64
MAX_N_BASE = 1000
MAX_MMU_HA = 1e6
MAX_COORDINATE = 1e9  # an AOI corner (metres or degrees)


def choice(enum_type: type[E], value: object, field: str) -> E:
    """``value`` as a member of ``enum_type`` (also from its value, case-insensitively).

    Raises:
        InputError: ``value`` is none of the members; the message names ``field`` and lists them.
    """
    if isinstance(value, enum_type):
        return value
    for member in enum_type:
        if isinstance(value, str) and str(member.value).lower() == value.lower():
            return member
    known = ", ".join(str(m.value) for m in enum_type)
    raise InputError(f"Job field '{field}': '{value}' is not one of {known}.")


def refuse_unknown_fields(data: dict, known: set[str] | frozenset[str], what: str) -> None:
    """Raise :class:`~.errors.InputError` listing the keys of ``data`` that are not ``known`` fields of a ``what``.

    ``what``: the file's kind as the message names it (``job``, ``dataset``, ``classify job``, ``fetch``).
    """
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InputError(f"Unknown {what} field(s) {unknown}; known fields: {sorted(known)}.")


def check_device(value: object, field: str = "train.device") -> str:
    """A device name PyTorch understands: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.

    Raises:
        InputError: any other value; the message names ``field``.
    """
    if not isinstance(value, str) or not _DEVICE.match(value):
        raise InputError(f"Job field '{field}': '{value}' is not a device; use auto, cpu, cuda or cuda:N.")
    return value


def parse_bands(value: object, field: str) -> list[int]:
    """Band numbers from ``"1-12"``, ``"1,3,5"``, ``"2"`` or a list of numbers.

    Raises:
        InputError: anything else, naming ``field``.
    """
    try:
        if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            if all(1 <= v <= MAX_BANDS for v in value):
                return list(value)
        if isinstance(value, str) and value.strip():
            out: list[int] = []
            for part in value.replace(" ", "").split(","):
                first, _, last = part.partition("-")
                low, high = int(first), int(last or first)
                if not 1 <= low <= high <= MAX_BANDS:
                    raise InputError(
                        f"Job field '{field}': '{part}' is not a band range; bands count from 1 and a range goes "
                        f"up ('1-12', at most {MAX_BANDS})."
                    )
                out += list(range(low, high + 1))
            return out
    except ValueError:
        pass
    raise InputError(f"Job field '{field}': '{value}' is not a band range ('1-12', '1,3,5') or a list of band numbers.")


def options_from_mapping(cls: type[T], values: object, field: str) -> T:
    """An instance of the dataclass ``cls`` from a job file's mapping; missing keys take the defaults.

    Raises:
        InputError: ``values`` is not a mapping, or has a key ``cls`` does not know; the message
            names ``field`` and lists the known keys.
    """
    assert is_dataclass(cls)
    names = [f.name for f in fields(cls)]
    if not isinstance(values, dict):
        raise InputError(f"Job field '{field}' must be a mapping of {{key: value}}; known keys: {names}.")
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise InputError(f"Job field '{field}' has unknown key(s) {unknown}; known: {sorted(names)}.")
    kwargs: dict[str, Any] = dict(values)
    return cls(**kwargs)


class Choice(str, Enum):
    """Base of the options' enums: a member is its name in job files (``str(Split.FIELD) == "field"``)."""

    def __str__(self) -> str:
        """The name, as job files and reports write it."""
        return str(self.value)


class Registry(dict[str, T]):
    """A table of named entries (fusion methods, output formats, products, mask kinds, readers).

    Entries keep their registration order (it is a ``dict``); :meth:`unregister` and
    :meth:`registered` take one out again.

    Args:
        what: what an entry is, for messages (``fusion method``).
        key: an entry's name.
        unique: another attribute that must differ between entries (e.g. a file suffix), or None.
    """

    def __init__(self, what: str, key: Callable[[T], str], unique: Callable[[T], object] | None = None) -> None:
        """An empty table."""
        super().__init__()
        self.what, self.key, self.unique = what, key, unique

    def register(self, entry: T) -> T:
        """Add ``entry``; returns it.

        Raises:
            ValueError: its name, or its unique attribute, is taken.
        """
        name = self.key(entry)
        taken = name in self or (self.unique is not None and any(self.unique(e) == self.unique(entry) for e in self.values()))
        if taken:
            raise ValueError(f"a {self.what} named {name!r} (or sharing its unique attribute) is already registered")
        self[name] = entry
        return entry

    def lookup(self, name: str, where: str = "") -> T:
        """The entry called ``name``.

        Raises:
            InputError: no such entry; the message starts with ``where`` (e.g. ``Job field 'formats': ``)
                and lists the known entries.
        """
        try:
            return self[name]
        except KeyError:
            raise InputError(f"{where}unknown {self.what} '{name}'; use {', '.join(self)}.") from None

    def unregister(self, name: str) -> T:
        """Remove the entry called ``name``; returns it.

        Raises:
            ValueError: no entry has that name.
        """
        if name not in self:
            raise ValueError(f"no {self.what} named {name!r} is registered")
        return self.pop(name)

    @contextmanager
    def registered(self, entry: T) -> Iterator[T]:
        """``entry`` registered for the ``with`` block only (a test's toy entry); removed after it, even on error.

        Raises:
            ValueError: its name, or its unique attribute, is taken (as :meth:`register`).
        """
        self.register(entry)
        try:
            yield entry
        finally:
            self.pop(self.key(entry), None)


_SIMPLE = {"int": int, "float": float, "bool": bool, "str": str, "dict": dict}
_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "str": "text",
    "dict": "a mapping",
    "None": "null",
    "tuple": "a list",
    "list": "a list",
}


def _accepts(annotation: str, value: object) -> bool:
    """Whether ``value`` fits a field annotated ``annotation`` (as written: ``int | None``, ``tuple[int, ...]``).

    Strict: a bool is no number, a float no int, a string no number. Annotations of other types
    (enums, dates) accept anything here: their own coercion checks them.
    """
    for part in (p.strip() for p in annotation.split("|")):
        if part == "None":
            if value is None:
                return True
        elif part.startswith(("tuple", "list", "Sequence")):
            if isinstance(value, (tuple, list)):
                return True
        elif part in _SIMPLE:
            typ = _SIMPLE[part]
            if typ is int and isinstance(value, int) and not isinstance(value, bool):
                return True
            if typ is float and isinstance(value, (int, float)) and not isinstance(value, bool):
                return True
            if typ in (bool, str, dict) and isinstance(value, typ):
                return True
        else:
            return True
    return False


def check_types(obj: object, prefix: str = "") -> None:
    """Every field of the dataclass ``obj`` has a value of its annotated type (no silent coercion).

    Raises:
        InputError: naming the field (``train.max_epochs``), the value and the type it needs.
    """
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        annotation = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        if not _accepts(annotation, value):
            wanted = " or ".join(_WORDS.get(p.strip().split("[")[0], p.strip()) for p in annotation.split("|"))
            raise InputError(f"Job field '{prefix}{f.name}': {value!r} is not {wanted}.")


def check_range(
    value: float | None,
    field: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """``value`` within ``[low, high]`` (open ends as said); None passes.

    Raises:
        InputError: naming the field, the value and the range.
    """
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"Job field '{field}': {value!r} is not a number.")
    if not math.isfinite(value):
        raise InputError(f"Job field '{field}': {value!r} is not a finite number; give a plain number.")
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if below or above:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
        raise InputError(f"Job field '{field}': {value!r} is out of range; it must be {' and '.join(x for x in (lo, hi) if x)}.")
