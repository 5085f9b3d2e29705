import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The lab's runtime modules live beside the master notebook, as they do beside a student's.
sys.path.insert(0, str(ROOT / "assignment"))
sys.path.insert(0, str(ROOT))
