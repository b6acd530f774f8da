"""Supervisor of one local worker process: runs the command, then records how it ended.

`python -m scheduler.backends.local_worker EXIT_FILE -- COMMAND...`. The exit file lets any process
(not only the one that started the job) learn each worker's exit code and running time. Kept free
of Django and TensorFlow so it starts in milliseconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    exit_file, separator, *command = argv
    if separator != "--" or not command:
        print("usage: local_worker EXIT_FILE -- COMMAND...", file=sys.stderr)
        return 2
    started = time.time()
    # The whole process group gets signals from the backend; the supervisor outlives its child
    # so it can write down how the child ended.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        child = subprocess.Popen(command)
    except OSError as error:
        record(exit_file, 127, started, f"could not start {command[0]}: {error}")
        return 127
    code = child.wait()
    record(exit_file, code, started, "")
    return 0


def record(path: str, code: int, started: float, error: str) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w") as out:
        json.dump({"exit_code": code, "started": started, "ended": time.time(), "error": error}, out)
    os.replace(temporary, path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
