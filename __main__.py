"""``python -m tsstfn_crop_mapper``: the command line (see ``core/cli.py``)."""

import sys

try:
    from .core.cli import main
except KeyboardInterrupt:  # Ctrl+C while the command line starts
    print("stopped; nothing half-written was left", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
