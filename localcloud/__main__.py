"""`python -m localcloud`: up, down, status, or serve (see `localcloud.launcher`)."""

from localcloud.launcher import main

raise SystemExit(main())
