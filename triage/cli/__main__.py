"""`python -m triage.cli`, the same as the `triage` console script."""
import sys

from triage.cli import main

sys.exit(main())
