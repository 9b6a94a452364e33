import sys

from cosession.cli import main

sys.exit(main())
