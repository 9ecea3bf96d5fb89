"""Import this to put `lambda_src/` on `sys.path`, as the Lambda runtime has it.

The functions' packages (`common`, `user_manager`, `message_stream`, `tasks`, `datamodel`)
are top-level in the Lambda asset, so tests import them by those names.
"""

from __future__ import annotations

import sys
from pathlib import Path

LAMBDA_SRC = Path(__file__).resolve().parents[2] / "lambda_src"
if str(LAMBDA_SRC) not in sys.path:
    sys.path.insert(0, str(LAMBDA_SRC))
