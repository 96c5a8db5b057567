"""Container health check of a worker: `python -m workers.health <name|all> [max age seconds]`.

Exits 0 when the worker's heartbeat file was touched recently (every
worker touches it on each round, about once a second, even when the
stream is quiet), 1 otherwise. It reads only the file: no Redis, no app.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from workers import NAMES, heartbeat_path


def main(argv: list[str]) -> int:
    """Check the heartbeat of one worker or all; print the first stale one."""
    name = argv[0] if argv else "all"
    max_age = float(argv[1]) if len(argv) > 1 else 30.0
    data_dir = Path(os.environ.get("PLENARY_DATA_DIR", "instance"))
    for worker in NAMES if name == "all" else (name,):
        path = heartbeat_path(data_dir, worker)
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            print(f"{worker}: no heartbeat at {path}")
            return 1
        if age > max_age:
            print(f"{worker}: last heartbeat {age:.0f} s ago")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
