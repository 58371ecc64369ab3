"""EC2 images as EC2 makes them, where moto 5.2.5 differs (docs/adr/0006-emulator-fidelity.md).

- An AMI name is unique per owner and Region: RegisterImage, CopyImage and CreateImage with a
  name already in use answer InvalidAMIName.Duplicate (moto registered a second image).
- RegisterImage keeps its request: TagSpecifications (image tags), BlockDeviceMappings (the
  snapshots given, not a made-up 15 GiB one), RootDeviceName, Architecture, BootMode, ENA,
  SR-IOV, TPM, IMDS, kernel and ramdisk; DescribeImages returns them (moto kept Name and
  Description only). UefiData too, returned as EC2 returns it: by DescribeImageAttribute
  (attribute uefiData), never by DescribeImages (moto's DescribeImageAttribute failed on it). A snapshot that does not exist is refused (InvalidSnapshot.NotFound), and a
  snapshot an image uses cannot be deleted (InvalidSnapshot.InUse).
- PlatformDetails and UsageOperation: "Linux/UNIX" and "RunInstances" unless the root snapshot
  carries the emulator-only tag `emulator:platform-details` (see PLATFORM_TAG); an emulator
  control for tests, standing in for the billing metadata EC2 reads from real snapshots.
- APIs moto lacks: Enable/DisableImageDeprecation, Enable/DisableImageDeregistrationProtection
  (DeregisterImage refused while on), DeregisterImage's DeleteAssociatedSnapshots, and
  DescribeImageReferences (instances, launch templates and SSM parameters that use an image).
- DisableImage and EnableImage as EC2 has them (moto only flipped the state): disabling removes
  every launch permission (a shared or public image becomes private), and DescribeImages leaves
  disabled images out unless IncludeDisabled=true.
- DescribeImageReferences takes at most 10 image IDs, as EC2's API reference and model say
  (InvalidParameterValue beyond).
- CopyImage: ClientToken idempotency, TagSpecifications, CopyImageTags, the source's block
  devices (as new snapshots), Encrypted and KmsKeyId (the copy's snapshots encrypted with the
  key), platform details, SourceImageId and SourceImageRegion.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import (
    EC2ClientError,
    InvalidAMIIdError,
    InvalidSnapshotIdError,
    InvalidSnapshotInUse,
    UnvailableAMIIdError,
)
from moto.ec2.models.amis import Ami, AmiBackend
from moto.ec2.models.elastic_block_store import EBSBackend
from moto.ec2.responses.amis import AmisResponse
from moto.ec2.utils import random_ami_id

# The emulator-only snapshot tag that chooses an image's billing (PlatformDetails). Not AWS.
PLATFORM_TAG = "emulator:platform-details"

# PlatformDetails → UsageOperation, as EC2's "AMI billing information" page lists them.
USAGE_OPERATIONS = {
    "Linux/UNIX": "RunInstances",
    "Red Hat BYOL Linux": "RunInstances:00g0",
    "Red Hat Enterprise Linux": "RunInstances:0010",
    "Red Hat Enterprise Linux with HA": "RunInstances:1010",
    "Red Hat Enterprise Linux with SQL Server Standard and HA": "RunInstances:1014",
    "Red Hat Enterprise Linux with SQL Server Enterprise and HA": "RunInstances:1110",
    "Red Hat Enterprise Linux with SQL Server Standard": "RunInstances:0014",
    "Red Hat Enterprise Linux with SQL Server Web": "RunInstances:0210",
    "Red Hat Enterprise Linux with SQL Server Enterprise": "RunInstances:0110",
    "SQL Server Enterprise": "RunInstances:0100",
    "SQL Server Standard": "RunInstances:0004",
    "SQL Server Web": "RunInstances:0200",
    "SUSE Linux": "RunInstances:000g",
    "Ubuntu Pro": "RunInstances:0g00",
    "Windows": "RunInstances:0002",
    "Windows BYOL": "RunInstances:0800",
    "Windows with SQL Server Enterprise": "RunInstances:0102",
    "Windows with SQL Server Standard": "RunInstances:0006",
    "Windows with SQL Server Web": "RunInstances:0202",
}

# Names are checked and images added under one lock: moto's server is threaded, and EC2 never
# lets two racing registrations both take a name.
_names = threading.Lock()


class DuplicateAmiName(EC2ClientError):
    def __init__(self, name: str, image_id: str):
        super().__init__("InvalidAMIName.Duplicate", f"AMI name {name} is already in use by AMI {image_id}")


class DeregistrationProtected(EC2ClientError):
    def __init__(self, image_id: str, until: str | None = None):
        detail = f" until {until}" if until else ""
        super().__init__(
            "OperationNotPermitted",
            f"Image {image_id} has deregistration protection enabled{detail}. "
            "Disable deregistration protection before deregistering the image.",
        )


def _utc(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Image(Ami):
    """An image with the block devices it was registered (or copied) with, and no invented snapshot."""

    def __init__(self, backend: Any, ami_id: str, mappings: list[dict[str, Any]], **fields: Any):
        super().__init__(backend, ami_id, **fields)
        # moto's Ami makes a 15 GiB volume and snapshot for every image; this one has its own.
        backend.snapshots.pop(self.ebs_snapshot.id, None)
        self.mappings = mappings
        self.root_device_type = "ebs"
        self.hypervisor = "xen"
        self.platform_details: str | None = "Linux/UNIX"
        self.usage_operation: str | None = "RunInstances"
        self.ena_support: bool | None = None
        self.sriov_net_support: str | None = None
        self.tpm_support: str | None = None
        self.imds_support: str | None = None
        self.uefi_data: str | None = None
        self.ramdisk_id: str | None = None
        self.source_image_id: str | None = None
        self.source_image_region: str | None = None
        self.deprecation_time: str | None = None
        self.protection = "disabled"
        self.protected_until: datetime | None = None

    @property
    def block_device_mappings(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return self.mappings

    @property
    def uefi(self) -> str | None:
        # moto's DescribeImageAttribute reads the attribute uefiData from `uefi`.
        return self.uefi_data

    @property
    def snapshot_ids(self) -> list[str]:
        return [m["Ebs"]["SnapshotId"] for m in self.mappings if m.get("Ebs", {}).get("SnapshotId")]

    @property
    def deregistration_protection(self) -> str:
        if self.protection == "disabled" and self.protected_until and _now() < self.protected_until:
            return f"disabled-until {_utc(self.protected_until)}"
        return self.protection

    def get_filter_value(self, filter_name: str, method_name: str | None = None) -> Any:
        if filter_name == "block-device-mapping.snapshot-id":
            return self.snapshot_ids
        if filter_name == "platform-details":
            return self.platform_details
        if filter_name == "usage-operation":
            return self.usage_operation
        return super().get_filter_value(filter_name, method_name)


def _images(backend: Any) -> list[Any]:
    return list(backend.amis.values())


def _check_name(backend: Any, name: str | None) -> None:
    if not name:
        return
    for image in _images(backend):
        if image.name == name and image.owner_id == backend.account_id:
            raise DuplicateAmiName(name, image.id)


def _tags_for(tag_specifications: list[dict[str, Any]], resource_type: str = "image") -> dict[str, str]:
    tags: dict[str, str] = {}
    for spec in tag_specifications or []:
        if spec.get("ResourceType") == resource_type:
            for tag in spec.get("Tags", []):
                tags[tag["Key"]] = tag.get("Value", "")
    return tags


def _snapshot_tags(backend: Any, snapshot_id: str) -> dict[str, str]:
    return dict(backend.tags.get(snapshot_id, {}))


def _platform_from(backend: Any, image: Image, root_device_name: str | None) -> None:
    root = next(
        (m for m in image.mappings if m.get("DeviceName") == root_device_name and m.get("Ebs", {}).get("SnapshotId")),
        None,
    )
    chosen = _snapshot_tags(backend, root["Ebs"]["SnapshotId"]).get(PLATFORM_TAG) if root else None
    if chosen is None:
        return
    # An empty value stands for an image whose billing information EC2 could not derive.
    image.platform_details = chosen or None
    image.usage_operation = USAGE_OPERATIONS.get(chosen, "RunInstances") if chosen else None
    image.platform = "windows" if chosen.startswith("Windows") else None


def _mappings(backend: Any, requested: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The requested block devices as DescribeImages shows them; unknown snapshots are refused."""
    mappings = []
    for mapping in requested or []:
        mapping = {k: v for k, v in mapping.items() if v is not None}
        ebs = mapping.get("Ebs")
        if ebs is not None:
            ebs = {k: v for k, v in ebs.items() if v is not None}
            snapshot_id = ebs.get("SnapshotId")
            if snapshot_id:
                snapshot = backend.snapshots.get(snapshot_id)
                if snapshot is None:
                    raise InvalidSnapshotIdError()
                ebs.setdefault("VolumeSize", int(snapshot.volume.size))
                ebs.setdefault("Encrypted", bool(snapshot.encrypted))
            ebs.setdefault("DeleteOnTermination", True)
            mapping["Ebs"] = ebs
        mappings.append(mapping)
    return mappings


# --- backend ------------------------------------------------------------------------------


def _add_image(self: Any, mappings: list[dict[str, Any]], name: str | None, **fields: Any) -> Image:
    """A new image of this backend, under a name no image of it has: call with _names held."""
    _check_name(self, name)
    image = Image(self, random_ami_id(), mappings, name=name, **fields)
    self.amis[image.id] = image
    return image


def register_image(self: Any, name: str | None = None, description: str | None = None, **request: Any) -> Ami:
    mappings = _mappings(self, request.get("BlockDeviceMappings", []))
    root = request.get("RootDeviceName") or "/dev/sda1"
    with _names:
        image = _add_image(
            self,
            mappings,
            name=name,
            description=description,
            architecture=request.get("Architecture") or "x86_64",
            virtualization_type=request.get("VirtualizationType") or "hvm",
            root_device_name=root,
            boot_mode=request.get("BootMode"),
            image_location=request.get("ImageLocation") or f"{self.account_id}/{name}",
        )
    image.ena_support = request.get("EnaSupport")
    image.sriov_net_support = request.get("SriovNetSupport")
    image.tpm_support = request.get("TpmSupport")
    image.imds_support = request.get("ImdsSupport")
    image.uefi_data = request.get("UefiData")
    image.kernel_id = request.get("KernelId")
    image.ramdisk_id = request.get("RamdiskId")
    _platform_from(self, image, root)
    image.add_tags(_tags_for(request.get("TagSpecifications", [])))
    return image


_copy_tokens: dict[tuple[str, str, str], str] = {}


def copy_image(
    self: Any,
    source_image_id: str,
    source_region: str,
    name: str | None = None,
    description: str | None = None,
    **request: Any,
) -> Ami:
    from moto.ec2.models import ec2_backends

    token = request.get("ClientToken")
    key = (self.account_id, self.region_name, token or "")
    if token and key in _copy_tokens and _copy_tokens[key] in self.amis:
        return self.amis[_copy_tokens[key]]
    source_backend = ec2_backends[self.account_id][source_region]
    source = source_backend.describe_images(ami_ids=[source_image_id])[0]
    name = name or source.name
    # The copy's snapshots are new snapshots in this Region, as EC2 makes them.
    mappings = []
    for mapping in source.block_device_mappings:
        mapping = {**mapping, **({"Ebs": dict(mapping["Ebs"])} if "Ebs" in mapping else {})}
        snapshot_id = mapping.get("Ebs", {}).get("SnapshotId")
        if snapshot_id:
            size = mapping["Ebs"].get("VolumeSize", 8)
            volume = self.create_volume(size=size, zone_name=f"{self.region_name}a")
            copy = self.create_snapshot(volume.id, f"Copied for DestinationAmi from {snapshot_id}")
            self.delete_volume(volume.id)
            mapping["Ebs"]["SnapshotId"] = copy.id
            # Encrypted with the request's KMS key (EC2: KmsKeyId needs Encrypted), else as the source.
            if request.get("Encrypted"):
                mapping["Ebs"]["Encrypted"] = True
                copy.encrypted = True
                if request.get("KmsKeyId"):
                    mapping["Ebs"]["KmsKeyId"] = request["KmsKeyId"]
                    copy.kms_key_id = request["KmsKeyId"]
        mappings.append(mapping)
    with _names:
        if token and key in _copy_tokens and _copy_tokens[key] in self.amis:
            return self.amis[_copy_tokens[key]]
        image = _add_image(
            self,
            mappings,
            name=name,
            description=description if description is not None else source.description,
            architecture=source.architecture,
            virtualization_type=source.virtualization_type,
            root_device_name=source.root_device_name,
            boot_mode=source.boot_mode,
            image_location=f"{self.account_id}/{name}",
        )
        if token:
            _copy_tokens[key] = image.id
    for attribute in ("ena_support", "sriov_net_support", "tpm_support", "imds_support", "uefi_data"):
        setattr(image, attribute, getattr(source, attribute, None))
    image.kernel_id = source.kernel_id
    image.platform = source.platform
    image.platform_details = getattr(source, "platform_details", "Linux/UNIX")
    image.usage_operation = getattr(source, "usage_operation", "RunInstances")
    image.source_image_id = source.id
    image.source_image_region = source_region
    tags = {}
    if request.get("CopyImageTags"):
        tags.update({t["key"]: t["value"] for t in source.get_tags()})
    tags.update(_tags_for(request.get("TagSpecifications", [])))
    image.add_tags(tags)
    return image


_original_create_image = AmiBackend.create_image


def create_image(self: Any, instance_id: str, name: str, description: str, tag_specifications: Any) -> Ami:
    with _names:
        _check_name(self, name)
        return _original_create_image(self, instance_id, name, description, tag_specifications)


def _image(backend: Any, image_id: str) -> Any:
    if image_id in backend.deleted_amis:
        raise UnvailableAMIIdError(image_id)
    image = backend.amis.get(image_id)
    if image is None:
        raise InvalidAMIIdError(image_id)
    return image


def deregister_image(self: Any, ami_id: str, delete_associated_snapshots: bool = False) -> list[dict[str, str]]:
    image = _image(self, ami_id)
    protection = getattr(image, "protection", "disabled")
    until = getattr(image, "protected_until", None)
    if protection != "disabled":
        raise DeregistrationProtected(ami_id)
    if until and _now() < until:
        raise DeregistrationProtected(ami_id, _utc(until))
    self.amis.pop(ami_id)
    self.deleted_amis.append(ami_id)
    results = []
    if delete_associated_snapshots:
        for snapshot_id in getattr(image, "snapshot_ids", [image.ebs_snapshot.id]):
            in_use = any(snapshot_id in getattr(other, "snapshot_ids", []) for other in _images(self))
            if in_use:
                results.append({"SnapshotId": snapshot_id, "ReturnCode": "skipped"})
            elif self.snapshots.pop(snapshot_id, None) is not None:
                results.append({"SnapshotId": snapshot_id, "ReturnCode": "success"})
            else:
                results.append({"SnapshotId": snapshot_id, "ReturnCode": "client-error"})
    return results


_original_delete_snapshot = EBSBackend.delete_snapshot


def delete_snapshot(self: Any, snapshot_id: str) -> Any:
    for image in _images(self):
        if snapshot_id in getattr(image, "snapshot_ids", []):
            raise InvalidSnapshotInUse(snapshot_id, image.id)
    return _original_delete_snapshot(self, snapshot_id)


def enable_image_deprecation(self: Any, image_id: str, deprecate_at: datetime) -> None:
    image = _image(self, image_id)
    at = deprecate_at if deprecate_at.tzinfo else deprecate_at.replace(tzinfo=timezone.utc)
    # EC2 rounds the seconds to the nearest minute.
    at = (at + timedelta(seconds=30)).replace(second=0, microsecond=0)
    image.deprecation_time = _utc(at)


def disable_image_deprecation(self: Any, image_id: str) -> None:
    _image(self, image_id).deprecation_time = None


def enable_image_deregistration_protection(self: Any, image_id: str, with_cooldown: bool) -> str:
    image = _image(self, image_id)
    image.protection = "enabled-with-cooldown" if with_cooldown else "enabled-without-cooldown"
    image.protected_until = None
    return image.protection


def disable_image_deregistration_protection(self: Any, image_id: str) -> str:
    image = _image(self, image_id)
    if getattr(image, "protection", "disabled") == "enabled-with-cooldown":
        image.protected_until = _now() + timedelta(hours=24)
    image.protection = "disabled"
    return image.deregistration_protection


REFERENCE_TYPES = ("ec2:Instance", "ec2:LaunchTemplate", "ssm:Parameter")


def describe_image_references(self: Any, image_ids: list[str], resource_types: list[str]) -> list[dict[str, str]]:
    for image_id in image_ids:
        _image(self, image_id)
    wanted = set(image_ids)
    references = []
    if "ec2:Instance" in resource_types:
        for reservation in self.reservations.values():
            for instance in reservation.instances:
                if instance.image_id in wanted and instance.state != "terminated":
                    references.append(
                        {
                            "ImageId": instance.image_id,
                            "ResourceType": "ec2:Instance",
                            "Arn": f"arn:aws:ec2:{self.region_name}:{self.account_id}:instance/{instance.id}",
                        }
                    )
    if "ec2:LaunchTemplate" in resource_types:
        for template in self.launch_templates.values():
            for version in (template.default_version(), template.latest_version()):
                image_id = version.data.get("ImageId") if version else None
                if image_id in wanted:
                    references.append(
                        {
                            "ImageId": image_id,
                            "ResourceType": "ec2:LaunchTemplate",
                            "Arn": f"arn:aws:ec2:{self.region_name}:{self.account_id}:launch-template/{template.id}",
                        }
                    )
                    break
    if "ssm:Parameter" in resource_types:
        from moto.ssm.models import ssm_backends

        store = ssm_backends[self.account_id][self.region_name]
        for name, versions in list(store._parameters.items()):
            latest = versions[-1] if versions else None
            if latest is not None and latest.value in wanted:
                references.append(
                    {
                        "ImageId": latest.value,
                        "ResourceType": "ssm:Parameter",
                        "Arn": f"arn:aws:ssm:{self.region_name}:{self.account_id}:parameter{'' if name.startswith('/') else '/'}{name}",
                    }
                )
    return references


def disable_image(self: Any, ami_id: str) -> None:
    image = _image(self, ami_id)
    # EC2: "Sets the AMI state to disabled and removes all launch permissions from the AMI."
    image.launch_permissions = []
    image.state = "disabled"


def enable_image(self: Any, ami_id: str) -> None:
    _image(self, ami_id).state = "available"


# --- responses ----------------------------------------------------------------------------

_REGISTER_FIELDS = (
    "Architecture",
    "BlockDeviceMappings",
    "BootMode",
    "EnaSupport",
    "ImageLocation",
    "ImdsSupport",
    "KernelId",
    "RamdiskId",
    "RootDeviceName",
    "SriovNetSupport",
    "TagSpecifications",
    "TpmSupport",
    "UefiData",
    "VirtualizationType",
)


def register_image_response(self: Any) -> ActionResult:
    name = self._get_param("Name")
    description = self._get_param("Description", "")
    request = {field: self._get_param(field) for field in _REGISTER_FIELDS}
    self.error_on_dryrun()
    image = self.ec2_backend.register_image(name, description, **request)
    return ActionResult({"ImageId": image.id})


def copy_image_response(self: Any) -> ActionResult:
    fields = ("ClientToken", "CopyImageTags", "TagSpecifications", "Encrypted", "KmsKeyId")
    request = {field: self._get_param(field) for field in fields}
    if request.get("KmsKeyId") and not request.get("Encrypted"):
        raise EC2ClientError("InvalidParameterCombination", "KmsKeyId requires Encrypted to be true.")
    self.error_on_dryrun()
    image = self.ec2_backend.copy_image(
        self._get_param("SourceImageId"),
        self._get_param("SourceRegion"),
        self._get_param("Name"),
        self._get_param("Description"),
        **request,
    )
    return ActionResult({"ImageId": image.id})


def deregister_image_response(self: Any) -> ActionResult:
    ami_id = self._get_param("ImageId")
    delete_snapshots = bool(self._get_param("DeleteAssociatedSnapshots", False))
    self.error_on_dryrun()
    results = self.ec2_backend.deregister_image(ami_id, delete_snapshots)
    result: dict[str, Any] = {"Return": True}
    if delete_snapshots:
        result["DeleteSnapshotResults"] = results
    return ActionResult(result)


def enable_image_deprecation_response(self: Any) -> ActionResult:
    image_id = self._get_param("ImageId")
    deprecate_at = self._get_param("DeprecateAt")
    self.error_on_dryrun()
    self.ec2_backend.enable_image_deprecation(image_id, deprecate_at)
    return ActionResult({"Return": True})


def disable_image_deprecation_response(self: Any) -> ActionResult:
    image_id = self._get_param("ImageId")
    self.error_on_dryrun()
    self.ec2_backend.disable_image_deprecation(image_id)
    return ActionResult({"Return": True})


def enable_image_deregistration_protection_response(self: Any) -> ActionResult:
    image_id = self._get_param("ImageId")
    with_cooldown = bool(self._get_param("WithCooldown", False))
    self.error_on_dryrun()
    return ActionResult({"Return": self.ec2_backend.enable_image_deregistration_protection(image_id, with_cooldown)})


def disable_image_deregistration_protection_response(self: Any) -> ActionResult:
    image_id = self._get_param("ImageId")
    self.error_on_dryrun()
    return ActionResult({"Return": self.ec2_backend.disable_image_deregistration_protection(image_id)})


_original_describe_images_response = AmisResponse.describe_images


def describe_images_response(self: Any) -> ActionResult:
    result = _original_describe_images_response(self)
    if not self._get_param("IncludeDisabled", False):
        images = result.result["Images"]  # type: ignore[index]
        images[:] = [image for image in images if getattr(image, "state", "available") != "disabled"]
    return result


# EC2's limit on DescribeImageReferences' ImageIds (the model's max, and the API reference).
MAX_REFERENCE_IMAGE_IDS = 10


def describe_image_references_response(self: Any) -> ActionResult:
    image_ids = self._get_param("ImageIds", [])
    if len(image_ids) > MAX_REFERENCE_IMAGE_IDS:
        raise EC2ClientError(
            "InvalidParameterValue",
            f"The request names {len(image_ids)} image IDs; DescribeImageReferences accepts at most {MAX_REFERENCE_IMAGE_IDS}.",
        )
    include_all = bool(self._get_param("IncludeAllResourceTypes", False))
    requested = [t.get("ResourceType") for t in self._get_param("ResourceTypes", []) or []]
    self.error_on_dryrun()
    if not include_all and not requested:
        raise EC2ClientError(
            "MissingParameter",
            "Either IncludeAllResourceTypes or ResourceTypes must be specified.",
        )
    types = list(REFERENCE_TYPES) if include_all else [t for t in requested if t in REFERENCE_TYPES]
    return ActionResult({"ImageReferences": self.ec2_backend.describe_image_references(image_ids, types)})


def install() -> None:
    AmiBackend.register_image = register_image  # type: ignore[method-assign]
    AmiBackend.copy_image = copy_image  # type: ignore[method-assign]
    AmiBackend.create_image = create_image  # type: ignore[method-assign]
    AmiBackend.deregister_image = deregister_image  # type: ignore[method-assign,assignment]
    AmiBackend.enable_image_deprecation = enable_image_deprecation  # type: ignore[attr-defined]
    AmiBackend.disable_image_deprecation = disable_image_deprecation  # type: ignore[attr-defined]
    AmiBackend.enable_image_deregistration_protection = enable_image_deregistration_protection  # type: ignore[attr-defined]
    AmiBackend.disable_image_deregistration_protection = disable_image_deregistration_protection  # type: ignore[attr-defined]
    AmiBackend.describe_image_references = describe_image_references  # type: ignore[attr-defined]
    AmiBackend.disable_image = disable_image  # type: ignore[method-assign]
    AmiBackend.enable_image = enable_image  # type: ignore[method-assign]
    AmisResponse.describe_images = describe_images_response  # type: ignore[method-assign]
    EBSBackend.delete_snapshot = delete_snapshot  # type: ignore[method-assign]
    AmisResponse.register_image = register_image_response  # type: ignore[method-assign]
    AmisResponse.copy_image = copy_image_response  # type: ignore[method-assign]
    AmisResponse.deregister_image = deregister_image_response  # type: ignore[method-assign]
    AmisResponse.enable_image_deprecation = enable_image_deprecation_response  # type: ignore[attr-defined]
    AmisResponse.disable_image_deprecation = disable_image_deprecation_response  # type: ignore[attr-defined]
    AmisResponse.enable_image_deregistration_protection = enable_image_deregistration_protection_response  # type: ignore[attr-defined]
    AmisResponse.disable_image_deregistration_protection = disable_image_deregistration_protection_response  # type: ignore[attr-defined]
    AmisResponse.describe_image_references = describe_image_references_response  # type: ignore[attr-defined]
