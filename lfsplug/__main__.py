"""``python -m lfsplug``: the same as the ``lfsplug`` command."""

import sys

from lfsplug import console_main

sys.exit(console_main())
