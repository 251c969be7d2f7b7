"""``python -m scripts.offline_bundle``."""

import sys

from scripts.offline_bundle.cli import main

sys.exit(main())
