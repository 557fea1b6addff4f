#!/usr/bin/env python3
"""Print the fingerprint of every function collab's patches replace or rely on, as installed here.

    python scripts/patch-fingerprints.py          # one line per target: fingerprint, known?, patch
    python scripts/patch-fingerprints.py --check  # exit 1 if any target is unknown

To vouch for a new release of a patched library: install it, run this, read the
changed function against the patch (collab/_patches/<library>.py), add the new
fingerprint to the patch's ``targets`` and its version to ``checked``, and run the
tests (`python -m pytest tests/unit/test_patches.py` and the tests the patch names).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collab import _patches


def main() -> int:
    unknown = 0
    for patch in _patches.all_patches():
        for label, table in (("target", patch.targets), ("fixed upstream", patch.fixed_upstream)):
            for target, prints in table.items():
                now = _patches.current(target)
                known = now in prints
                if (
                    label == "target"
                    and not known
                    and not any(_patches.current(t) in p for t, p in patch.fixed_upstream.items())
                ):
                    unknown += 1
                print(
                    f"{now or '-':16}  {'known' if known else 'NEW  '}  {patch.name:32} {label}: {target}"
                    f"  ({patch.library} {_patches.version(patch.library)})"
                )
    return 1 if unknown and "--check" in sys.argv else 0


if __name__ == "__main__":
    sys.exit(main())
