"""`python -m localcloud`: run the local cloud server in the foreground."""

from localcloud.server import main

main()
