"""`python -m scripts <command>`: see `scripts.cli`."""

from scripts.cli import main

raise SystemExit(main())
