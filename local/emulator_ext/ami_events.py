"""EC2's AMI state changes and their events (docs/adr/0006-emulator-fidelity.md, docs/adr/0013-ami-events.md).

Where moto 5.2.5 differs from what snap2ami's waits rest on:

- An image takes time: RegisterImage's and CopyImage's image is `pending` for the control's
  `registerSeconds` / `copySeconds` (emulated seconds; 0 by default: available at once, as
  before), then `available` (moto: `available` at once).
- An image can fail: when the root snapshot of a registered image (or of a copy's source)
  carries the emulator-only tag `emulator:image-failure` (FAILURE_TAG), the image ends `failed`
  with StateReason {Code: Client.ImageFailed, Message: the tag's value} instead (EC2: a snapshot
  it cannot read, a copy that runs out of capacity).
- EC2 sends `EC2 AMI State Change` events (source aws.ec2; detail ImageId, State, ErrorMessage
  for `failed`) to the default bus of the image's Region when an image becomes available or
  fails, is deregistered or disabled, on a best-effort basis (moto sends none). Here each is
  put on moto's bus (whose rules and targets route it) `eventDelaySeconds` after the change,
  and a share `dropShare` (0..1) of them is never sent: the events are best effort, and tests
  show that a wait still ends.
- A rule whose target is an event bus of another Region (a copy Region forwarding its AMI events
  to the pipeline's) delivers the event itself, keeping its `region`, `id`, `time` and
  `resources`, as EventBridge's cross-Region routing does (moto put a new event in the target
  Region, under that Region's name: the image's Region was lost).
- All of it runs on an emulator clock: emulated seconds are `timeScale` times faster than wall
  seconds (a copy of two hours in a test of seconds).

Set through the control endpoint (CONTROL_PATH), for every Region or for one:
`POST {"registerSeconds": N, "copySeconds": N, "eventDelaySeconds": N, "dropShare": S,
"timeScale": T, "region": "…"}`; `GET` reads the settings and the counters (events sent and
dropped, by Region); `POST CONTROL_PATH/reset` goes back to the defaults. Not AWS.
"""

from __future__ import annotations

import copy
import json
import random
import threading
from typing import Any

from moto.ec2.models.amis import AmiBackend

from .region_settings import RegionSettings

CONTROL_PATH = "/snap2ami-emulator/ami-events"
FAILURE_TAG = "emulator:image-failure"
DETAIL_TYPE = "EC2 AMI State Change"
DEFAULTS: dict[str, float] = {
    "registerSeconds": 0.0,
    "copySeconds": 0.0,
    "eventDelaySeconds": 0.0,
    "dropShare": 0.0,
    "timeScale": 1.0,
}


class Settings(RegionSettings):
    """The timings and the share of events dropped, global or per Region; and what was sent."""

    defaults = DEFAULTS

    def reset(self, region: str | None = None) -> None:
        super().reset(region)
        with self.lock:
            if region is None:
                self.counters: dict[str, dict[str, int]] = {}
            else:
                self.counters.pop(region, None)

    def check(self, values: dict[str, float]) -> None:
        if any(v < 0 for v in values.values()):
            raise ValueError("values must not be negative")
        if values.get("dropShare", 0) > 1:
            raise ValueError("dropShare is a share, from 0 to 1")
        if "timeScale" in values and values["timeScale"] <= 0:
            raise ValueError("timeScale must be greater than 0")

    def wall(self, region: str, name: str) -> float:
        """A duration setting in wall seconds (emulated seconds over the time scale)."""
        return self.get(region, name) / self.get(region, "timeScale")

    def count(self, region: str, what: str) -> None:
        with self.lock:
            counters = self.counters.setdefault(region, {"sent": 0, "dropped": 0})
            counters[what] += 1

    def state(self) -> dict[str, Any]:
        state = super().state()
        with self.lock:
            state["counters"] = {r: dict(c) for r, c in self.counters.items()}
        return state


SETTINGS = Settings()


def _later(seconds: float, fn: Any) -> None:
    if seconds <= 0:
        fn()
        return
    timer = threading.Timer(seconds, fn)
    timer.daemon = True
    timer.start()


def emit(backend: Any, image_id: str, state: str, message: str | None = None) -> None:
    """The image's state change event, on the default bus of its Region, after the delay (or never: dropShare)."""
    region = backend.region_name

    def send() -> None:
        if random.random() < SETTINGS.get(region, "dropShare"):
            SETTINGS.count(region, "dropped")
            return
        from moto.events.models import events_backends

        detail: dict[str, Any] = {"RequestId": "", "ImageId": image_id, "State": state}
        if message is not None:
            detail["ErrorMessage"] = message
        events_backends[backend.account_id][region].put_events(
            [
                {
                    "Source": "aws.ec2",
                    "DetailType": DETAIL_TYPE,
                    "Detail": json.dumps(detail),
                    "Resources": [f"arn:aws:ec2:{region}::image/{image_id}"],
                }
            ]
        )
        SETTINGS.count(region, "sent")

    _later(SETTINGS.wall(region, "eventDelaySeconds"), send)


def _failure(backend: Any, image: Any) -> str | None:
    """The emulator-only failure its root snapshot asks for (copies: the source's root snapshot)."""
    from .instances import _root_snapshot_tags

    return _root_snapshot_tags(backend, image).get(FAILURE_TAG)


def _settle(backend: Any, image: Any, pending_setting: str, failure: str | None) -> None:
    """Pending for the setting's time, then available (or failed), then its event."""

    def done() -> None:
        if failure is not None:
            image.state = "failed"
            image.state_reason = {"Code": "Client.ImageFailed", "Message": failure}
            emit(backend, image.id, "failed", failure)
        else:
            image.state = "available"
            emit(backend, image.id, "available")

    seconds = SETTINGS.wall(backend.region_name, pending_setting)
    if seconds > 0 or failure is not None:
        image.state = "pending"
    _later(seconds, done)


def _forward_keeping_region() -> None:
    from moto.events.models import Rule, events_backends
    from moto.utilities.arns import parse_arn

    send_to_targets = Rule.send_to_targets

    def is_bus(target: dict[str, Any]) -> bool:
        arn = parse_arn(target["Arn"])
        return arn.service == "events" and arn.resource_type == "event-bus"

    def forward(self: Any, original_event: Any, transform_input: bool = True) -> None:
        buses = [t for t in self.targets if is_bus(t)]
        if not buses:
            return send_to_targets(self, original_event, transform_input)
        if not self.event_pattern.matches_event(original_event):
            return None
        others = copy.copy(self)
        others.targets = [t for t in self.targets if not is_bus(t)]
        send_to_targets(others, original_event, transform_input)
        for target in buses:
            arn = parse_arn(target["Arn"])
            bus = events_backends[arn.account][arn.region].describe_event_bus(arn.resource_id)
            for rule in list(bus.rules.values()):
                rule.send_to_targets(copy.deepcopy(original_event))
        return None

    Rule.send_to_targets = forward  # type: ignore[method-assign]


def install() -> None:
    """Wraps the image backend (after amis.install): timings, failures and events."""
    _forward_keeping_region()
    register_image = AmiBackend.register_image
    copy_image = AmiBackend.copy_image
    deregister_image = AmiBackend.deregister_image
    disable_image = AmiBackend.disable_image

    def register(self: Any, *args: Any, **kwargs: Any) -> Any:
        image = register_image(self, *args, **kwargs)
        _settle(self, image, "registerSeconds", _failure(self, image))
        return image

    def copy(self: Any, source_image_id: str, source_region: str, *args: Any, **kwargs: Any) -> Any:
        existing = set(self.amis)
        image = copy_image(self, source_image_id, source_region, *args, **kwargs)
        if image.id not in existing:  # a retried ClientToken answers the first copy: no new change
            from moto.ec2.models import ec2_backends

            source_backend = ec2_backends[self.account_id][source_region or self.region_name]
            source = source_backend.amis.get(source_image_id)
            failure = _failure(source_backend, source) if source is not None else None
            _settle(self, image, "copySeconds", failure)
        return image

    def deregister(self: Any, ami_id: str, *args: Any, **kwargs: Any) -> Any:
        result = deregister_image(self, ami_id, *args, **kwargs)
        emit(self, ami_id, "deregistered")
        return result

    def disable(self: Any, ami_id: str) -> Any:
        result = disable_image(self, ami_id)
        emit(self, ami_id, "disabled")
        return result

    AmiBackend.register_image = register  # type: ignore[method-assign]
    AmiBackend.copy_image = copy  # type: ignore[method-assign]
    AmiBackend.deregister_image = deregister  # type: ignore[method-assign]
    AmiBackend.disable_image = disable  # type: ignore[method-assign]


def middleware(app: Any) -> Any:
    """Serves the control endpoint; passes every other request on."""
    from .throttle import settings_middleware

    return settings_middleware(app, CONTROL_PATH, SETTINGS)
