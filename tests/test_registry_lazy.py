"""Lazy entry points: a lookup by name imports that plugin's module only; listings import all."""

from __future__ import annotations

import json
import subprocess
import sys

SNIPPET = """
import json, sys
from attrbench.core.plugin import METHODS, TASKS
METHODS.get("ig")
TASKS.get("utr5")
first = sorted(m for m in sys.modules if m.startswith(("attrbench_methods.", "attrbench_tasks.")))
names = METHODS.names()
print(json.dumps({"first": first, "names": names}))
"""


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_lookup_imports_only_the_plugin_it_names():
    seen = _run(SNIPPET)
    assert seen["first"] == [
        "attrbench_methods.ig",
        "attrbench_tasks.common",
        "attrbench_tasks.common.alphabets",
        "attrbench_tasks.utr5",
    ]


def test_names_are_listed_in_one_order_whatever_was_looked_up_first():
    lazy = _run(SNIPPET)["names"]
    eager = _run(
        "import json\nfrom attrbench.core.plugin import METHODS\n"
        "print(json.dumps({'names': METHODS.names()}))"
    )["names"]
    assert lazy == eager and lazy.index("ig") > lazy.index("saliency")
