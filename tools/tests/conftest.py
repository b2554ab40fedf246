"""Make the tools importable by their module names, as `python tools/x.py` does."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
