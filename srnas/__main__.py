import sys

from srnas.cli import main

sys.exit(main())
