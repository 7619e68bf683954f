#!/usr/bin/env python3
"""analyze -i IN1 -i IN2 -o OUT: the output is analyze(<in1>,<in2>)."""

import sys
from pathlib import Path

args = sys.argv[1:]
ins = [Path(args[i + 1]).read_text().strip() for i, f in enumerate(args) if f == "-i"]
Path(args[args.index("-o") + 1]).write_text("analyze(" + ",".join(ins) + ")\n")
