#!/usr/bin/env python3
"""step LABEL OUT [IN ...]: OUT holds LABEL(<each input's text>, ...)."""

import sys
from pathlib import Path

label, out, *inputs = sys.argv[1:]
parts = [Path(p).read_text().strip() for p in inputs]
Path(out).write_text(f"{label}({','.join(parts)})\n")
