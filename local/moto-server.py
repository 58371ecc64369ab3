"""The local AWS emulator: moto's server app (docs/adr/0001-local-aws.md) with changes that
make it behave as AWS does where snap2ami depends on it:

EC2 images as EC2 makes them, EC2's request throttling (with its control endpoint), SQS's
message rules and atomic DynamoDB conditional writes: local/emulator_ext
(docs/adr/0006-emulator-fidelity.md).

Usage: moto-server.py HOST PORT
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))

import emulator_ext  # noqa: E402
from moto.moto_server.threaded_moto_server import MotoRequestHandler  # noqa: E402
from werkzeug.serving import run_simple  # noqa: E402

emulator_ext.install()
run_simple(host, port, emulator_ext.application(), threaded=True, request_handler=MotoRequestHandler)
