"""``python -m benchmarks.local_mode --port N``: local mode exactly as ``python -m local``
runs it, except that moto's model-instance tracking is off.

moto records every model object it ever creates (``BaseModel.instances_tracked``), and its
TransactWriteItems deep-copies the whole table first, so each transaction keeps a full
copy of the table alive: memory grows with the square of the registrations (measured
beside the throughput figure). The tracking only feeds moto's own introspection API.
"""

from __future__ import annotations

import sys


def main() -> int:
    from moto.core import common_models

    def untracked(cls: type, *_args: object, **_kwargs: object) -> object:
        return object.__new__(cls)

    common_models.BaseModel.__new__ = staticmethod(untracked)  # type: ignore[assignment]
    from local.__main__ import main as local_main

    return local_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
