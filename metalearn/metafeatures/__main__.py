"""``python -m metalearn.metafeatures [PATH]``: regenerate the meta-feature documentation table."""

import sys

from metalearn.metafeatures._docs import write_docs

if __name__ == "__main__":
    write_docs(sys.argv[1] if len(sys.argv) > 1 else "docs/metafeatures.md")
