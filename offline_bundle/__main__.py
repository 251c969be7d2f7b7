"""``python -m offline_bundle``."""

import sys

from offline_bundle.cli import main

sys.exit(main())
