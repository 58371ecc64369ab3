"""EC2 instances and SSM commands for the launch test (docs/adr/0006-emulator-fidelity.md).

Where moto 5.2.5 differs from what the launch test rests on:

- RunInstances keeps its ClientToken: the same token in the same account and Region answers the
  reservation it made the first time (moto launched a new instance for every call). The image
  must exist (InvalidAMIID.NotFound; moto launched from any id), and its block devices are the
  base of the instance's, each overridden by the request's mapping of the same device (moto used
  the request's mappings alone, or a made-up volume).
- RunInstances refuses an image whose ENA support is off on a type that requires ENA (every
  Nitro type: t3, t4g, m5, …), as EC2 does, with EC2's error: `InvalidParameterCombination`,
  "Enhanced networking with the Elastic Network Adapter (ENA) is required for the 't3.micro'
  instance type. Ensure that you are using an AMI that is enabled for ENA." (moto launched it).
  EC2 refuses at the launch, it does not boot such an image and fail its checks: the error as
  users meet it, e.g. github.com/vantage-sh/ec2instances.info/issues/409 (t3.micro),
  hashicorp/terraform#19763 (t3.large), rancher/os#2160 (c5.large); the EC2 user guide
  ("Enhanced networking with ENA") has every Nitro type use ENA.
- Status checks take time: DescribeInstanceStatus answers `initializing` for both checks until
  the instance has run for the control's `statusDelaySeconds`, then `ok` (moto: `ok` at once).
  The instance reachability check ends `impaired` (details: reachability `failed`) when the
  image could not boot on the instance type: its boot mode is not one the type supports, its
  architecture is not the type's, or its root snapshot carries the emulator-only tag
  `emulator:boot=fail` (BOOT_TAG: an image whose OS does not come up, a broken fstab, a
  missing driver).
- GetConsoleOutput: a boot log; for such an instance, a failed boot naming the cause.
- SSM SendCommand runs only on a running instance whose checks passed (else InvalidInstanceId,
  as an instance without a reachable SSM agent). Its invocation is `InProgress` for the
  control's `commandDelaySeconds`, then final: `Success`, or the status the emulator-only tag
  `emulator:ssm-command` (COMMAND_TAG) on the image's root snapshot names (`Failed`, `TimedOut`,
  `Cancelled`), with an output saying so (moto: `Success` at once, on any instance id).
- TerminateInstances is moto's.

The delays are set through the control endpoint (CONTROL_PATH) for every Region or for one
Region: `POST {"statusDelaySeconds": N, "commandDelaySeconds": N, "region": "…"}`;
`POST CONTROL_PATH/reset` goes back to the defaults. Not AWS.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import InvalidParameterCombination
from moto.ec2.models.instance_types import INSTANCE_TYPES
from moto.ec2.models.instances import Instance, InstanceBackend
from moto.ec2.responses.general import General
from moto.ec2.responses.instances import InstanceResponse
from moto.ec2.utils import Base64EncodedString

from .region_settings import RegionSettings

CONTROL_PATH = "/snap2ami-emulator/instances"
BOOT_TAG = "emulator:boot"
COMMAND_TAG = "emulator:ssm-command"
FINAL_COMMAND_STATUSES = ("Success", "Failed", "TimedOut", "Cancelled")
DEFAULTS: dict[str, float] = {"statusDelaySeconds": 2.0, "commandDelaySeconds": 1.0}


class Settings(RegionSettings):
    """The delays, global or per Region (tests use a Region of their own)."""

    defaults = DEFAULTS

    def check(self, values: dict[str, float]) -> None:
        if any(v < 0 for v in values.values()):
            raise ValueError("delays must not be negative")


SETTINGS = Settings()
_tokens: dict[tuple[str, str, str], str] = {}
_tokens_lock = threading.Lock()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _root_snapshot_tags(backend: Any, image: Any) -> dict[str, str]:
    root = getattr(image, "root_device_name", None)
    for mapping in getattr(image, "block_device_mappings", []) or []:
        snapshot_id = mapping.get("Ebs", {}).get("SnapshotId")
        if snapshot_id and (mapping.get("DeviceName") == root or root is None):
            return dict(backend.tags.get(snapshot_id, {}))
    return {}


def ena_refusal(image: Any, instance_type: str) -> str | None:
    """EC2's refusal of an image without ENA support on a type that requires ENA, or None."""
    info = INSTANCE_TYPES.get(instance_type) or {}
    if (info.get("NetworkInfo") or {}).get("EnaSupport") == "required" and not getattr(image, "ena_support", None):
        return (
            f"Enhanced networking with the Elastic Network Adapter (ENA) is required for the "
            f"'{instance_type}' instance type. Ensure that you are using an AMI that is enabled for ENA."
        )
    return None


def boot_failure(backend: Any, image: Any, instance_type: str) -> str | None:
    """Why this image cannot boot on this type, or None. The first cause found, in a fixed order."""
    info = INSTANCE_TYPES.get(instance_type)
    if info is not None:
        modes = info.get("SupportedBootModes") or []
        mode = getattr(image, "boot_mode", None)
        if mode and mode != "uefi-preferred" and modes and mode not in modes:
            return f"boot mode {mode} is not supported by {instance_type} ({', '.join(modes)})"
        architectures = (info.get("ProcessorInfo") or {}).get("SupportedArchitectures") or []
        architecture = getattr(image, "architecture", None)
        if architecture and architectures and architecture not in architectures:
            return f"architecture {architecture} differs from {instance_type}'s ({', '.join(architectures)})"
    if _root_snapshot_tags(backend, image).get(BOOT_TAG) == "fail":
        return f"the root snapshot is tagged {BOOT_TAG}=fail"
    return None


# --- RunInstances -------------------------------------------------------------------------

_original_run_instances = InstanceBackend.run_instances


def _merged_mappings(image: Any, requested: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The image's block devices, each overridden by the request's mapping of the same device, then the request's new ones."""
    by_device: dict[str, dict[str, Any]] = {}
    for mapping in getattr(image, "block_device_mappings", []) or []:
        if "Ebs" in mapping:
            ebs = dict(mapping["Ebs"])
            ebs.setdefault("VolumeSize", 8)
            by_device[mapping["DeviceName"]] = {"DeviceName": mapping["DeviceName"], "Ebs": ebs}
    for mapping in requested or []:
        device = mapping.get("DeviceName")
        if mapping.get("NoDevice") is not None:
            by_device.pop(device, None)
            continue
        base = by_device.get(device, {"DeviceName": device, "Ebs": {"VolumeSize": 8}})
        by_device[device] = {"DeviceName": device, "Ebs": {**base["Ebs"], **(mapping.get("Ebs") or {})}}
    return list(by_device.values())


def parse_block_device_mappings(self: Any) -> list[dict[str, Any]]:
    """The request's mappings as given: a mapping may name a device of the image and only change it (moto asked for a size or snapshot)."""
    return [dict(mapping) for mapping in self._get_param("BlockDeviceMappings", [])]


def run_instances(
    self: Any, image_id: str, count: int, user_data: Any, security_group_names: list[str], **kwargs: Any
) -> Any:
    from .amis import _image

    token = kwargs.get("client_token")
    key = (self.account_id, self.region_name, token or "")
    with _tokens_lock:
        if token and key in _tokens and _tokens[key] in self.reservations:
            return self.reservations[_tokens[key]]
        image = _image(self, image_id) if image_id else None
        refusal = ena_refusal(image, kwargs.get("instance_type") or "") if image is not None else None
        if refusal:
            raise InvalidParameterCombination(refusal)
        if image is not None:
            kwargs["block_device_mappings"] = _merged_mappings(image, kwargs.get("block_device_mappings"))
        reservation = _original_run_instances(self, image_id, count, user_data, security_group_names, **kwargs)
        if token:
            _tokens[key] = reservation.id
    for instance in reservation.instances:
        instance.boot_failure = boot_failure(self, image, instance.instance_type) if image is not None else None
        instance.checks_from = _now()
    return reservation


# --- status checks ------------------------------------------------------------------------


def _ready(instance: Any) -> bool:
    started = getattr(instance, "checks_from", None)
    if started is None:
        return True
    delay = SETTINGS.get(instance.region_name, "statusDelaySeconds")
    return (_now() - started).total_seconds() >= delay


def _check(status: str, detail: str, since: datetime | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"Name": "reachability", "Status": detail}
    if since is not None:
        entry["ImpairedSince"] = since
    return {"Status": status, "Details": [entry]}


def instance_status(self: Any) -> dict[str, Any]:
    if self.state_code != 16:
        return {"Status": "not-applicable"}
    if not _ready(self):
        return _check("initializing", "initializing")
    if getattr(self, "boot_failure", None):
        return _check("impaired", "failed", self.checks_from)
    return _check("ok", "passed")


def system_status(self: Any) -> dict[str, Any]:
    if self.state_code != 16:
        return {"Status": "not-applicable"}
    if not _ready(self):
        return _check("initializing", "initializing")
    return _check("ok", "passed")


def checks_passed(instance: Any) -> bool:
    return instance.state_code == 16 and _ready(instance) and not getattr(instance, "boot_failure", None)


# --- console output -----------------------------------------------------------------------

BOOT_LOG = """[    0.000000] Linux version 6.1.0 (builder@localhost) #1 SMP PREEMPT_DYNAMIC
[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz root=LABEL=/ ro console=tty0 console=ttyS0,115200n8
[    0.412345] nvme nvme0: pci function 0000:00:04.0
[    1.023456] ena 0000:00:05.0: Elastic Network Adapter (ENA) found
[    3.210987] cloud-init[512]: Cloud-init v. 23.1 finished
"""

FAILED_BOOT_LOG = """[    0.000000] Linux version 6.1.0 (builder@localhost) #1 SMP PREEMPT_DYNAMIC
[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz root=LABEL=/ ro console=tty0 console=ttyS0,115200n8
[    0.412345] nvme nvme0: pci function 0000:00:04.0
[    2.345678] dracut-initqueue[301]: Warning: Could not boot.
[    2.345679] dracut-initqueue[301]: Warning: /dev/disk/by-label/root does not exist
[    2.345680] emulator: the image cannot boot: {cause}
[    2.400000] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)
"""


def get_console_output_response(self: Any) -> ActionResult:
    instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
    cause = getattr(instance, "boot_failure", None)
    text = FAILED_BOOT_LOG.format(cause=cause) if cause else BOOT_LOG
    return ActionResult(
        {"InstanceId": instance.id, "Timestamp": _now(), "Output": Base64EncodedString.from_raw_string(text)}
    )


# --- SSM ----------------------------------------------------------------------------------


def _instance(account: str, region: str, instance_id: str) -> Any:
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[account][region]
    for candidate in backend.all_instances():
        if candidate.id == instance_id:
            return backend, candidate
    return backend, None


def _install_ssm() -> None:
    from moto.ssm.exceptions import SSMException
    from moto.ssm.models import Command, SimpleSystemManagerBackend

    original_send = SimpleSystemManagerBackend.send_command
    original_invocation = Command.get_invocation

    class NotManaged(SSMException):
        """SSM's answer for an instance that is not a running, managed instance (no reachable agent)."""

        def __init__(self) -> None:
            super().__init__("InvalidInstanceId", "Instances not in a valid state for account")

    def send_command(self: Any, **kwargs: Any) -> Any:
        outcomes: dict[str, str] = {}
        for instance_id in kwargs.get("instance_ids") or []:
            backend, instance = _instance(self.account_id, self.region_name, instance_id)
            if instance is None or not checks_passed(instance):
                raise NotManaged()
            image = backend.amis.get(instance.image_id)
            wanted = _root_snapshot_tags(backend, image).get(COMMAND_TAG, "Success") if image else "Success"
            outcomes[instance_id] = wanted if wanted in FINAL_COMMAND_STATUSES else "Failed"
        command = original_send(self, **kwargs)
        command.outcomes = outcomes
        command.ready_at = _now().timestamp() + SETTINGS.get(self.region_name, "commandDelaySeconds")
        return command

    def get_invocation(self: Any, instance_id: str, plugin_name: str | None) -> dict[str, Any]:
        invocation = dict(original_invocation(self, instance_id, plugin_name))
        outcome = getattr(self, "outcomes", {}).get(instance_id)
        if outcome is None:
            return invocation
        if _now().timestamp() < getattr(self, "ready_at", 0):
            status, code, output, error = "InProgress", -1, "", ""
        elif outcome == "Success":
            status, code, output, error = outcome, 0, f"{self.document_name}: all steps passed\n", ""
        else:
            status, code = outcome, 1
            output = f"{self.document_name}: step 1 of 1\n"
            error = f"emulator: the command ends {outcome} ({COMMAND_TAG} on the root snapshot)\n"
        invocation.update(
            Status=status,
            StatusDetails=status,
            ResponseCode=code,
            StandardOutputContent=output,
            StandardErrorContent=error,
        )
        return invocation

    SimpleSystemManagerBackend.send_command = send_command  # type: ignore[method-assign]
    Command.get_invocation = get_invocation  # type: ignore[method-assign]


# --- control endpoint ---------------------------------------------------------------------


def middleware(app: Any) -> Any:
    """Serves the control endpoint; passes every other request on."""
    from .throttle import settings_middleware

    return settings_middleware(app, CONTROL_PATH, SETTINGS)


def install() -> None:
    InstanceBackend.run_instances = run_instances  # type: ignore[method-assign]
    InstanceResponse._parse_block_device_mapping = parse_block_device_mappings  # type: ignore[method-assign]
    Instance.instance_status = property(instance_status)  # type: ignore[assignment,method-assign]
    Instance.system_status = property(system_status)  # type: ignore[assignment,method-assign]
    General.get_console_output = get_console_output_response  # type: ignore[method-assign]
    _install_ssm()
