#!/usr/bin/env python
"""Build (or resume) the metalearn knowledge base offline.

Examples
--------
Dense local runs on every PMLB dataset (resumable; rerun to continue)::

    python scripts/build_knowledge_base.py local --pmlb-dir ../shared/datasets/pmlb --output .work/kb.sqlite

Publish the build as the shipped KB (snapshot + manifest with checksums)::

    python scripts/build_knowledge_base.py publish --from .work/kb.sqlite --to metalearn/kb_data
"""

import sys

from metalearn.kb_build import main

if __name__ == "__main__":
    sys.exit(main())
