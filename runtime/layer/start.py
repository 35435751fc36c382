"""Start lambundle's runtime from its layer: /opt/lambundle/start.py.

The runtime ships as the package `_lambundle_runtime` next to this file, under a private
name so that a user's own `runtime` module still imports. This directory is on sys.path
only long enough to import it (put there explicitly, so PYTHONSAFEPATH cannot break it).
"""

import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
while here in sys.path:
    sys.path.remove(here)
sys.path.insert(0, here)
from _lambundle_runtime.main import main  # type: ignore[import-not-found]  # noqa: E402

sys.path.remove(here)
sys.exit(main(sys.argv[1:], opt_root=os.path.dirname(here)))
