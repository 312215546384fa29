"""Keeps TensorFlow's native start-up log lines off stderr unless the user asked for them.

Importing TensorFlow writes a few lines from its C++ side straight to file
descriptor 2, whatever Python does: ``WARNING: All log messages before
absl::InitializeLog() is called are written to STDERR``, ``Could not find cuda
drivers on your machine``, ``failed call to cuInit: ... (303)`` on every machine
without a GPU. Some bypass ``TF_CPP_MIN_LOG_LEVEL`` (they are written before
absl's logging starts), so the level alone cannot hide them, and they come
before a recipe's own one-line ``error:`` message.

:func:`hidden` sends descriptor 2 to a temporary file while TensorFlow starts,
then writes back everything that is not such a line (Python warnings, anything
unexpected); when the block raises, it writes back everything. A user who sets
``TF_CPP_MIN_LOG_LEVEL`` themselves sees TensorFlow's lines as TensorFlow
prints them: ``dlkit/__init__.py`` only filters when the variable was unset.
"""

import contextlib
import os
import re
import sys
import tempfile

#: A native log line: absl's ``I0000 00:00:1796356584.106573   20724 file.cc:31] ...`` and its preamble.
NATIVE_LINE = re.compile(
    r"^(?:[IWEF]\d{4} [\d:.]+\s+\d+ [\w.\-]+:\d+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.)"
)


@contextlib.contextmanager
def hidden():
    """Runs the block with descriptor 2 captured; writes back what is not a native log line."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no descriptor 2 (an embedded interpreter): nothing to hide
        yield
        return
    failed = True
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode("utf-8", "replace").splitlines(keepends=True)
            kept = lines if failed else [line for line in lines if not NATIVE_LINE.match(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
