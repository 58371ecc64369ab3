"""The local AWS emulator: moto's server app (docs/adr/0001-local-aws.md), with changes that
make it behave as AWS does where snap2ami depends on it.

SQS's message rules (size in bytes with the attributes, allowed characters): moto_sqs_rules.py.

moto's server is threaded, and its DynamoDB backend checks a ConditionExpression and applies
the write without a lock, so two concurrent conditional writes can both succeed; real
DynamoDB makes each conditional write atomic, and snap2ami's idempotency claim relies on
that. This launcher serves DynamoDB requests one at a time (everything else, SQS long polls
included, stays concurrent). Usage: moto-server.py HOST PORT
"""

import os
import sys
import threading

from moto.moto_server.threaded_moto_server import MotoRequestHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

import moto_sqs_rules

moto_sqs_rules.install()

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))

app = DomainDispatcherApplication(create_backend_app)
dynamodb = threading.Lock()


def atomic_dynamodb(environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with dynamodb:
            return list(app(environ, start_response))
    return app(environ, start_response)


run_simple(host, port, atomic_dynamodb, threaded=True, request_handler=MotoRequestHandler)
