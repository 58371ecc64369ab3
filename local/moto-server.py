"""The local AWS emulator: moto's server app (docs/adr/0001-local-aws.md) with changes that
make it behave as AWS does where snap2ami depends on it:

EC2 images as EC2 makes them, EC2's request throttling (with its control endpoint), SQS's
message rules and atomic DynamoDB conditional writes: local/emulator_ext
(docs/adr/0006-emulator-fidelity.md).

Usage: moto-server.py HOST PORT [--exit-with-stdin]

With --exit-with-stdin the server exits when its standard input reaches its end: its parent
holds the other end of a pipe there, so the server does not outlive the parent, however the
parent ends (even SIGKILL, which leaves the parent no chance to stop it).
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# Python keeps the modules it compiles (in .venv and local/emulator_ext, the project's own), even
# where the environment asks it not to (PYTHONDONTWRITEBYTECODE): moto compiled anew at each start
# cost 0.7 s of CPU, and
# a test run starts 13 emulators (docs/adr/0006-emulator-fidelity.md).
sys.dont_write_bytecode = False

host, port = sys.argv[1], int(sys.argv[2])


def exit_with_stdin() -> None:
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


if "--exit-with-stdin" in sys.argv[3:]:
    threading.Thread(target=exit_with_stdin, name="exit-with-stdin", daemon=True).start()
os.environ.setdefault("MOTO_PORT", str(port))

import emulator_ext  # noqa: E402
from moto.moto_server.threaded_moto_server import MotoRequestHandler  # noqa: E402
from werkzeug.serving import run_simple  # noqa: E402

emulator_ext.install()
run_simple(host, port, emulator_ext.application(), threaded=True, request_handler=MotoRequestHandler)
