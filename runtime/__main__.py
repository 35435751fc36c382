"""`python -m runtime [HANDLER]`: run the runtime loop against AWS_LAMBDA_RUNTIME_API."""

import sys

from .main import main

sys.exit(main(sys.argv[1:]))
