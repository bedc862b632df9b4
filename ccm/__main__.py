import sys

from ccm.cli import main

sys.exit(main())
