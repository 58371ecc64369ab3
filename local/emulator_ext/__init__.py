"""The project's extensions of moto, installed in-process by local/moto-server.py.

Where snap2ami's design depends on an EC2 or AWS behaviour that moto 5.2.5 lacks, the launcher
adds it here, so that every test meets it (docs/adr/0006-emulator-fidelity.md):

- amis: unique AMI names, RegisterImage's request kept, PlatformDetails chosen by a snapshot
  tag, image deprecation, deregistration protection, DeleteAssociatedSnapshots,
  DescribeImageReferences, CopyImage idempotency and tags;
- accounts: two accounts (moto's multi-account support) and what crosses between them:
  snapshots shared with the caller (listed without their tags, copied), AssumeRole only of a
  role that exists and trusts the caller;
- snapshots: a snapshot's StartTime set by the emulator-only tag `emulator:start-time` (a local
  run's samples keep their own times);
- throttle: EC2's request token buckets (HTTP 503 RequestLimitExceeded), with a control
  endpoint (/snap2ami-emulator/throttle);
- requests: a log of the EC2 requests that named an image (/snap2ami-emulator/requests), so a
  test can tell a guard that held from a call EC2 refused;
- ami_events: images that take time (pending, then available or failed) on an emulator clock,
  and EC2's `EC2 AMI State Change` events on the default bus, after a delay, a share of them
  dropped, with a control endpoint (/snap2ami-emulator/ami-events);
- instances: RunInstances' ClientToken, status checks that take time and fail when the image
  cannot boot on the type, console output, SSM commands whose result a snapshot tag chooses,
  with a control endpoint (/snap2ami-emulator/instances);
- sqs_rules: SQS's message size (in bytes, with the attributes) and characters
  (docs/adr/0001-local-aws.md);
- model_checks (with limits): every EC2, SNS, DynamoDB, SSM and SQS request checked against
  botocore's model of the service (required members, lengths, ranges, enums, patterns) and the
  documented limits the model lacks, refused as AWS refuses it;
- sqs_scale: ReceiveMessage without counting the whole queue per message (a burst's backlog);
- service_data: botocore's data files read once per process, not once per reader;
- speed: the same answers, faster: a resource's tags read from its own entry, not by a scan
  of the Region's tags; moto's services listed once; one SNS signing key; no request log;
- atomic DynamoDB: requests served one at a time (docs/adr/0001-local-aws.md).

A module here must not be named moto*: moto finds an error's service from the exception's
module name when the module starts with "moto".
"""

from __future__ import annotations

import threading
from typing import Any

from . import service_data

# Before moto is imported: moto.ec2 reads botocore's models as its modules load.
service_data.install()

from . import accounts, ami_events, amis, instances, model_checks, requests, snapshots, speed, sqs_rules, sqs_scale  # noqa: E402
from .throttle import Throttle, middleware  # noqa: E402


def install() -> None:
    """Patches moto's EC2 backend and responses; call before the first request."""
    amis.install()
    ami_events.install()
    snapshots.install()
    accounts.install()
    instances.install()
    sqs_rules.install()
    sqs_scale.install()
    speed.install()


def application() -> Any:
    """moto's server app, wrapped: the instances' control endpoint, the request log, EC2 throttling
    and its control endpoint, the model checks, atomic DynamoDB."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app = DomainDispatcherApplication(create_backend_app)
    dynamodb = threading.Lock()

    def atomic_dynamodb(environ: dict[str, Any], start_response: Any) -> Any:
        # moto checks a ConditionExpression and writes without a lock; real DynamoDB makes each
        # conditional write atomic, and the idempotency claim relies on that.
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with dynamodb:
                return list(app(environ, start_response))
        return app(environ, start_response)

    checked = model_checks.middleware(atomic_dynamodb, model_checks.ModelChecks())
    return ami_events.middleware(
        instances.middleware(requests.middleware(middleware(checked, Throttle()), requests.RequestLog()))
    )
