"""The entry points patch the standard library for gevent before anything else is imported."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT

# Run in a fresh interpreter: the entry point's patches apply to a whole process.
PROBE = """
import sys
import dashboard, dashboard.serve.patching  # what `import dashboard.cli` runs before it patches
early = {"flask", "redis", "ssl", "socketio", "engineio", "pydantic"} & set(sys.modules)
assert not early, early
import dashboard.cli  # the entry point: its patches come first
from gevent import monkey
import socket, threading, ssl

assert monkey.is_module_patched("socket") and monkey.is_module_patched("threading")
assert monkey.is_module_patched("ssl")
print("patched")
"""


def test_the_entry_point_patches_the_standard_library_first() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["patched"]
