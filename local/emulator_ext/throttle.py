"""EC2's request token buckets, in front of moto (docs/adr/0006-emulator-fidelity.md).

EC2 throttles each API per account and Region with a token bucket: a request takes one token,
the bucket refills at a fixed rate up to its size, and a request that finds it empty is refused
with HTTP 503 RequestLimitExceeded ("Request throttling for the Amazon EC2 API", EC2 developer
guide). moto throttles nothing. This module keeps one bucket per account, Region and API, with
EC2's documented sizes and refill rates, and two emulator-only parameters:

- timeScale T: every refill is T times faster, so a benchmark can run time-scaled;
- competitorShare F (0..1): the share of every refill another client of the account consumes,
  so the caller sees refill × (1 − F).

They are set at run time through the control endpoint (CONTROL_PATH), for every Region or for
one Region (tests use a Region of their own so that they change nothing for the others). A
change of bucket sizes, or switching the throttle on or off, starts the buckets concerned full;
a change of rate alone (timeScale, competitorShare) keeps their tokens, so that a competitor can
start or stop mid-burst (the bench's --competitor-schedule).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import parse_qs

CONTROL_PATH = "/snap2ami-emulator/throttle"

# (bucket size, refill per second), from EC2's "Request token bucket sizes and refill rates".
NON_MUTATING = (100.0, 20.0)  # Describe*, List*, Search*, Get* not listed elsewhere
UNFILTERED = (50.0, 10.0)  # these Describe* actions without a filter and without pagination
MUTATING = (50.0, 5.0)  # every other action not listed below
UNFILTERED_ACTIONS = {
    "DescribeInstances",
    "DescribeInstanceStatus",
    "DescribeNetworkInterfaces",
    "DescribeSecurityGroups",
    "DescribeSnapshots",
    "DescribeSpotInstanceRequests",
    "DescribeVolumes",
}
# The "uncategorized" actions with a bucket of their own that the emulator can serve (the table
# lists more: VPC endpoints, BYOIP, Verified Access, …, which fall back to their category here).
UNCATEGORIZED = {
    "AssignIpv6Addresses": (100.0, 5.0),
    "AssignPrivateIpAddresses": (100.0, 5.0),
    "AssociateIamInstanceProfile": (100.0, 5.0),
    "CopyImage": (100.0, 1.0),
    "CreateLaunchTemplateVersion": (100.0, 5.0),
    "CreateNatGateway": (10.0, 1.0),
    "CreateNetworkInterface": (100.0, 5.0),
    "CreateSnapshot": (100.0, 5.0),
    "CreateSnapshots": (100.0, 5.0),
    "CreateTags": (100.0, 10.0),
    "CreateVolume": (100.0, 5.0),
    "CreateVpcEndpoint": (4.0, 0.3),
    "DeleteNatGateway": (10.0, 1.0),
    "DeleteNetworkInterface": (100.0, 5.0),
    "DeleteSnapshot": (100.0, 5.0),
    "DeleteTags": (100.0, 10.0),
    "DeleteVolume": (100.0, 5.0),
    "DeleteVpcEndpoints": (4.0, 0.3),
    "DeregisterImage": (100.0, 5.0),
    "DisassociateIamInstanceProfile": (100.0, 5.0),
    "ModifyImageAttribute": (100.0, 5.0),
    "ModifyInstanceMetadataOptions": (100.0, 5.0),
    "ModifyLaunchTemplate": (100.0, 5.0),
    "ModifyNetworkInterfaceAttribute": (100.0, 5.0),
    "ModifySnapshotAttribute": (100.0, 5.0),
    "ModifyVpcEndpoint": (4.0, 0.3),
    "RunInstances": (5.0, 2.0),
    "StartInstances": (5.0, 2.0),
    "TerminateInstances": (100.0, 5.0),
    "UnassignPrivateIpAddresses": (100.0, 5.0),
}
# RunInstances' resource bucket ("resource rate limiting"): one token per instance launched.
UNCATEGORIZED["RunInstances.instances"] = (1000.0, 2.0)
# CopySnapshot's "Concurrent snapshot copies per destination Region" quota (20 by default), as a
# bucket: one token per copy, back as copies complete (assumed within 10 minutes; ADR 0009).
UNCATEGORIZED["CopySnapshot.copies"] = (20.0, 20.0 / 600.0)
RESOURCE_BUCKETS = {"RunInstances": "RunInstances.instances", "CopySnapshot": "CopySnapshot.copies"}
COPY_QUOTA_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>ResourceLimitExceeded</Code>'
    "<Message>You have reached the limit of concurrent snapshot copies in this Region.</Message></Error>"
    "</Errors><RequestID>{request_id}</RequestID></Response>"
)
RESOURCE_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>RequestResourceCountExceeded</Code>'
    "<Message>Request resource count exceeded. Account {account} launched more instances than its resource "
    "rate limit allows.</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
)
# The bucket of an unfiltered, unpaginated request of UNFILTERED_ACTIONS is its own.
UNFILTERED_SUFFIX = " (unfiltered)"

DEFAULTS: dict[str, Any] = {"enabled": True, "timeScale": 1.0, "competitorShare": 0.0}


def bucket_name(action: str, params: dict[str, list[str]]) -> str:
    if action in UNFILTERED_ACTIONS:
        filtered = any(k.startswith("Filter.") for k in params)
        paginated = "MaxResults" in params or "NextToken" in params
        if not filtered and not paginated:
            return action + UNFILTERED_SUFFIX
    return action


def documented(bucket: str) -> tuple[float, float]:
    if bucket.endswith(UNFILTERED_SUFFIX):
        return UNFILTERED
    if bucket in UNCATEGORIZED:
        return UNCATEGORIZED[bucket]
    if bucket.startswith(("Describe", "List", "Search", "Get")):
        return NON_MUTATING
    return MUTATING


class Throttle:
    """Token buckets per (account, Region, bucket); settings global or per Region; counters."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.reset()

    def reset(self, region: str | None = None) -> None:
        with self.lock:
            if region is None:
                self.settings: dict[str, Any] = {**DEFAULTS, "buckets": {}}
                self.regions: dict[str, dict[str, Any]] = {}
                self.tokens: dict[tuple[str, str, str], tuple[float, float]] = {}
                self.calls: dict[tuple[str, str], int] = {}
                self.throttled: dict[tuple[str, str], int] = {}
                return
            self.regions.pop(region, None)
            for key in [k for k in self.tokens if k[1] == region]:
                del self.tokens[key]
            for store in (self.calls, self.throttled):
                for key in [k for k in store if k[0] == region]:
                    del store[key]

    def effective(self, region: str) -> dict[str, Any]:
        overrides = self.regions.get(region, {})
        merged = {**self.settings, **{k: v for k, v in overrides.items() if k != "buckets"}}
        merged["buckets"] = {**self.settings["buckets"], **overrides.get("buckets", {})}
        return merged

    def limits(self, region: str, bucket: str) -> tuple[float, float]:
        settings = self.effective(region)
        size, refill = documented(bucket)
        custom = settings["buckets"].get(bucket)
        if custom:
            size = float(custom.get("size", size))
            refill = float(custom.get("refill", refill))
        return size, refill * float(settings["timeScale"]) * (1.0 - float(settings["competitorShare"]))

    def take(self, account: str, region: str, bucket: str) -> bool:
        """One request: True when it may go on, False when its bucket is empty (throttled)."""
        with self.lock:
            counter = (region, bucket)
            self.calls[counter] = self.calls.get(counter, 0) + 1
            if not self.effective(region)["enabled"]:
                return True
            size, rate = self.limits(region, bucket)
            now = self.clock()
            key = (account, region, bucket)
            tokens, last = self.tokens.get(key, (size, now))
            tokens = min(size, tokens + (now - last) * rate)
            if tokens >= 1.0:
                self.tokens[key] = (tokens - 1.0, now)
                return True
            self.tokens[key] = (tokens, now)
            self.throttled[counter] = self.throttled.get(counter, 0) + 1
            return False

    def configure(self, body: dict[str, Any]) -> None:
        region = body.get("region")
        with self.lock:
            concerned = [k for k in self.tokens if region is None or k[1] == region]
            # A change of rate alone (timeScale, competitorShare: another client that starts or
            # stops a job during a burst) keeps every bucket's tokens: those it gathered so far at
            # the old rate, and from now on the new one.
            if not {"enabled", "buckets"} & body.keys():
                now = self.clock()
                for key in concerned:
                    tokens, last = self.tokens[key]
                    size, rate = self.limits(key[1], key[2])
                    self.tokens[key] = (min(size, tokens + (now - last) * rate), now)
            target = self.settings if region is None else self.regions.setdefault(region, {})
            for key in ("enabled", "timeScale", "competitorShare"):
                if key in body:
                    target[key] = body[key]
            if "buckets" in body:
                target.setdefault("buckets", {}).update(body["buckets"])
            # A bucket of a changed size starts full at its new size; so does every bucket when
            # the throttle is switched on or off.
            if {"enabled", "buckets"} & body.keys():
                for key in concerned:
                    del self.tokens[key]

    def state(self) -> dict[str, Any]:
        with self.lock:
            counters: dict[str, dict[str, dict[str, int]]] = {}
            for (region, bucket), n in self.calls.items():
                size, refill = self.limits(region, bucket)
                counters.setdefault(region, {})[bucket] = {
                    "calls": n,
                    "throttled": self.throttled.get((region, bucket), 0),
                    "size": size,
                    "refill": refill,
                }
            return {
                **{k: v for k, v in self.settings.items()},
                "regions": self.regions,
                "documented": {
                    "nonMutating": {"size": NON_MUTATING[0], "refill": NON_MUTATING[1]},
                    "unfilteredNonMutating": {"size": UNFILTERED[0], "refill": UNFILTERED[1]},
                    "mutating": {"size": MUTATING[0], "refill": MUTATING[1]},
                    "uncategorized": {k: {"size": s, "refill": r} for k, (s, r) in UNCATEGORIZED.items()},
                },
                "counters": counters,
            }


THROTTLED_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code>'
    "<Message>Request limit exceeded. Account {account} has been throttled on ec2:{action} because it "
    "exceeded its request rate limit.</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
)


def _credential_scope(environ: dict[str, Any]) -> tuple[str, str, str] | None:
    """(access key, Region, service) from a SigV4 Authorization header."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    marker = "Credential="
    if marker not in auth:
        return None
    credential = auth.split(marker, 1)[1].split(",", 1)[0].strip()
    parts = credential.split("/")
    if len(parts) < 5:
        return None
    return parts[0], parts[2], parts[3]


def _read_body(environ: dict[str, Any]) -> bytes:
    import io

    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _json(start_response: Any, status: str, payload: Any) -> list[bytes]:
    data = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def settings_middleware(app: Any, path: str, settings: Any) -> Any:
    """Serves an emulator control endpoint at `path` for `settings` (its state(), configure(),
    reset(region)): GET its state, POST a change, POST `path`/reset; passes every other request on."""

    def controlled_app(environ: dict[str, Any], start_response: Any) -> Any:
        at = environ.get("PATH_INFO", "")
        if not at.startswith(path):
            return app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            if at == path + "/reset" and method == "POST":
                settings.reset(json.loads(_read_body(environ) or b"{}").get("region"))
            elif at == path and method == "POST":
                settings.configure(json.loads(_read_body(environ) or b"{}"))
            elif not (at == path and method == "GET"):
                return _json(start_response, "404 Not Found", {"error": f"no {method} {at}"})
        except (ValueError, TypeError, AttributeError) as error:
            return _json(start_response, "400 Bad Request", {"error": str(error)})
        return _json(start_response, "200 OK", settings.state())

    return controlled_app


def middleware(app: Any, throttle: Throttle) -> Any:
    """Serves the control endpoint, and answers EC2 requests whose bucket is empty with 503."""
    import uuid

    from moto.iam.models import get_account_id_from

    def throttled_app(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PATH):
            method = environ.get("REQUEST_METHOD", "GET")
            if path == CONTROL_PATH + "/reset" and method == "POST":
                body = json.loads(_read_body(environ) or b"{}")
                throttle.reset(body.get("region"))
                return _json(start_response, "200 OK", throttle.state())
            if path == CONTROL_PATH and method == "POST":
                try:
                    throttle.configure(json.loads(_read_body(environ) or b"{}"))
                except (ValueError, TypeError, AttributeError) as error:
                    return _json(start_response, "400 Bad Request", {"error": str(error)})
                return _json(start_response, "200 OK", throttle.state())
            if path == CONTROL_PATH and method == "GET":
                return _json(start_response, "200 OK", throttle.state())
            return _json(start_response, "404 Not Found", {"error": f"no {method} {path}"})

        scope = _credential_scope(environ)
        if scope is None or scope[2] != "ec2":
            return app(environ, start_response)
        access_key, region, _ = scope
        body = _read_body(environ) if environ.get("REQUEST_METHOD") == "POST" else b""
        params = parse_qs(body.decode("utf-8", "replace") or environ.get("QUERY_STRING", ""))
        action = (params.get("Action") or [""])[0]
        if not action:
            return app(environ, start_response)
        account = get_account_id_from(access_key)
        if not throttle.take(account, region, bucket_name(action, params)):
            data = THROTTLED_BODY.format(account=account, action=action, request_id=uuid.uuid4()).encode()
        elif action in RESOURCE_BUCKETS and not all(
            throttle.take(account, region, RESOURCE_BUCKETS[action])
            for _ in range(int((params.get("MaxCount") or ["1"])[0]))
        ):
            body = COPY_QUOTA_BODY if action == "CopySnapshot" else RESOURCE_BODY
            data = body.format(account=account, request_id=uuid.uuid4()).encode()
        else:
            return app(environ, start_response)
        start_response(
            "503 Service Unavailable",
            [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))],
        )
        return [data]

    return throttled_app
