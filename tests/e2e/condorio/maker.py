#!/usr/bin/env python3
"""maker MODE IN OUT [MAYBE]: copies IN to OUT, then misbehaves as MODE says.

sneaky: also writes files named like the submit dir's own (and a stray FITS file);
maybe: also writes the optional MAYBE; forget: writes nothing, exits 0;
fail: writes nothing, exits 3.
"""

import sys
from pathlib import Path

mode, src, out = sys.argv[1:4]
if mode == "fail":
    sys.exit(3)
if mode != "forget":
    Path(out).write_text(Path(src).read_text().upper())
if mode == "maybe":
    Path(sys.argv[4]).write_text("made\n")
if mode == "sneaky":
    for name in ("plan.json", "sneaky.dag", "manifests.jsonl", "diff.1_area.fits"):
        Path(name).write_text("OVERWRITTEN\n")
