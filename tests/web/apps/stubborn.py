"""An app that never quits: it says it is a Textual app, then ignores ``quit`` and SIGTERM (only SIGKILL ends it).

It also starts a child of its own (the same program with ``child``), which must go with it.
"""

import signal
import subprocess
import sys

signal.signal(signal.SIGTERM, signal.SIG_IGN)
if sys.argv[1:] != ["child"]:
    subprocess.Popen([sys.executable, __file__, "child"], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL)
    sys.stdout.write("__GANGLION__\n")
    sys.stdout.flush()
while True:
    signal.pause()
