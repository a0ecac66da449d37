"""The command line's progress printer: one line per whole percent, its state its own."""

from __future__ import annotations

from tsstfn_crop_mapper.core.callbacks import ProgressPrinter


def test_one_line_per_percent_and_each_printer_starts_afresh(capsys):
    printer = ProgressPrinter(every_s=3600)
    for k in range(300):  # batches: three per percent
        printer(k / 30000, f"batch {k}")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[  0.0 %] batch 0" and len(lines) == 1  # all under 1 %: one line
    printer(0.015, "later")
    printer(0.0151, "same percent")
    assert capsys.readouterr().out.splitlines() == ["[  1.5 %] later"]
    ProgressPrinter(every_s=3600)(0.0, "a second command in the same process")  # no state shared with the first
    assert capsys.readouterr().out.splitlines() == ["[  0.0 %] a second command in the same process"]
    repeat = ProgressPrinter(every_s=0.0)
    repeat(0.5, "a")
    repeat(0.5, "b")  # the same percent again, after every_s: printed (a slow step still shows it lives)
    assert capsys.readouterr().out.splitlines() == ["[ 50.0 %] a", "[ 50.0 %] b"]
