import sys

from loadtest.entry import main

sys.exit(main())
