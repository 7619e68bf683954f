#!/usr/bin/env python3
"""preprocess -i IN -o OUT1 -o OUT2: each output is pre(<input>)."""

import sys
from pathlib import Path

args = sys.argv[1:]
data = Path(args[args.index("-i") + 1]).read_text().strip()
for i, flag in enumerate(args):
    if flag == "-o":
        Path(args[i + 1]).write_text(f"pre({data})\n")
