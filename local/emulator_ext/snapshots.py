"""A snapshot's StartTime chosen by the caller: an emulator control, not AWS (docs/adr/0006-emulator-fidelity.md).

EBS stamps a snapshot's StartTime when the snapshot starts; moto stamps "now". A local run of
sample snapshots (`snap2ami local --snapshots FILE`) needs the samples' own StartTimes: the
pipeline names images by them (`{date}`, `{datetime}`) and orders a family by them. So a
CreateSnapshot whose TagSpecifications carry the emulator-only tag START_TIME_TAG (an ISO 8601
time, `2026-03-01T10:00:00Z`) gets that StartTime, and the tag is not kept: the snapshot looks
as EBS would have made it at that time. A value that is not an ISO time is refused
(InvalidParameterValue), as a typo should not silently fall back to "now".
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses.elastic_block_store import ElasticBlockStore

# The emulator-only snapshot tag that sets the new snapshot's StartTime. Not AWS.
START_TIME_TAG = "emulator:start-time"


def start_time(value: str) -> datetime:
    """The tag's time as moto keeps times (naive UTC)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise EC2ClientError(
            "InvalidParameterValue",
            f"Value ({value}) for tag {START_TIME_TAG} is invalid: an ISO 8601 time is expected (2026-03-01T10:00:00Z).",
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def create_snapshot(self: Any) -> ActionResult:
    volume_id = self._get_param("VolumeId")
    description = self._get_param("Description")
    snapshot_tags = dict(self._parse_tag_specification().get("snapshot", {}))
    chosen = snapshot_tags.pop(START_TIME_TAG, None)
    started = start_time(chosen) if chosen is not None else None
    self.error_on_dryrun()
    snapshot = self.ec2_backend.create_snapshot(volume_id, description)
    if started is not None:
        snapshot.start_time = started
    snapshot.add_tags(snapshot_tags)
    return ActionResult(snapshot)


def install() -> None:
    ElasticBlockStore.create_snapshot = create_snapshot  # type: ignore[method-assign]
