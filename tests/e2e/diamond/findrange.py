#!/usr/bin/env python3
"""findrange -i IN -o OUT: the output is range(<input>)."""

import sys
from pathlib import Path

args = sys.argv[1:]
data = Path(args[args.index("-i") + 1]).read_text().strip()
Path(args[args.index("-o") + 1]).write_text(f"range({data})\n")
