"""Start lambundle's runtime from its layer: /opt/lambundle/start.py.

The runtime ships as the package `_lambundle_runtime` next to this file, under a private
name so that a user's own `runtime` module still imports. This directory is on sys.path
(as the script's directory) only long enough to import it.
"""

import os
import sys

from _lambundle_runtime.main import main

del sys.path[0]
sys.exit(main(sys.argv[1:], opt_root=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
