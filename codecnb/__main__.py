import sys

from codecnb.cli.main import main

sys.exit(main())
