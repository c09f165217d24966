"""`python -m standins.chaos`: see `standins.chaos.run`."""

import sys

from standins.chaos.run import main

sys.exit(main())
