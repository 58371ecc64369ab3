"""The EC2 requests that named an image or a snapshot, as the emulator received them (emulator-only, not AWS).

A test of a guard that stands before an EC2 call ("never deregister a protected AMI") cannot
tell from EC2's state alone whether the guard held or EC2 refused the call: both leave the
image in place. This log says which calls reached EC2 at all: every EC2 request whose
parameters name an image (`ImageId`, `ImageId.N`, `SourceImageId`), with its Region and
action, kept in order of arrival (the newest MAX_ENTRIES), throttled or not. CloudTrail is
what answers the same question on AWS. A request that names snapshots (`SnapshotId`,
`SnapshotId.N`, `BlockDeviceMapping.N.Ebs.SnapshotId`: RegisterImage, its dry run too) is kept
as well, with `snapshotIds`, so that a test can tell that no image was ever asked for.

`GET LOG_PATH?action=…&imageId=…&snapshotId=…&region=…` answers
`{"requests": [{region, action, imageIds, snapshotIds (when it names any)}]}`,
each filter optional (docs/adr/0006-emulator-fidelity.md).
"""

from __future__ import annotations

import collections
import re
import threading
from typing import Any
from urllib.parse import parse_qs

from .throttle import _credential_scope, _json, _read_body

LOG_PATH = "/snap2ami-emulator/requests"
MAX_ENTRIES = 50_000
IMAGE_PARAMETER = re.compile(r"^(ImageId(\.\d+)?|SourceImageId)$")
SNAPSHOT_PARAMETER = re.compile(r"^(SnapshotId(\.\d+)?|BlockDeviceMapping\.\d+\.Ebs\.SnapshotId)$")


class RequestLog:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=MAX_ENTRIES)

    def add(self, region: str, action: str, params: dict[str, list[str]]) -> None:
        image_ids = [value for key, values in params.items() if IMAGE_PARAMETER.match(key) for value in values]
        snapshot_ids = [value for key, values in params.items() if SNAPSHOT_PARAMETER.match(key) for value in values]
        if image_ids or snapshot_ids:
            entry: dict[str, Any] = {"region": region, "action": action, "imageIds": image_ids}
            if snapshot_ids:
                entry["snapshotIds"] = snapshot_ids
            with self.lock:
                self.entries.append(entry)

    def find(
        self, action: str | None, image_id: str | None, region: str | None, snapshot_id: str | None = None
    ) -> list[dict[str, Any]]:
        with self.lock:
            return [
                entry
                for entry in self.entries
                if (action is None or entry["action"] == action)
                and (image_id is None or image_id in entry["imageIds"])
                and (region is None or entry["region"] == region)
                and (snapshot_id is None or snapshot_id in entry.get("snapshotIds", []))
            ]


def middleware(app: Any, log: RequestLog) -> Any:
    """Serves the log's endpoint, and logs each EC2 request that names an image or a snapshot before passing it on."""

    def logged_app(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == LOG_PATH:
            query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            found = log.find(query.get("action"), query.get("imageId"), query.get("region"), query.get("snapshotId"))
            return _json(start_response, "200 OK", {"requests": found})
        scope = _credential_scope(environ)
        if scope is not None and scope[2] == "ec2":
            body = _read_body(environ) if environ.get("REQUEST_METHOD") == "POST" else b""
            params = parse_qs(body.decode("utf-8", "replace") or environ.get("QUERY_STRING", ""))
            action = (params.get("Action") or [""])[0]
            if action:
                log.add(scope[1], action, params)
        return app(environ, start_response)

    return logged_app
