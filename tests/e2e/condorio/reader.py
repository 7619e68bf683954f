#!/usr/bin/env python3
"""reader IN OUT: OUT is read(<IN>)."""

import sys
from pathlib import Path

Path(sys.argv[2]).write_text(f"read({Path(sys.argv[1]).read_text().strip()})\n")
