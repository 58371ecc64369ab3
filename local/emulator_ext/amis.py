"""EC2 images as EC2 makes them, where moto 5.2.5 differs (docs/adr/0004-emulator-fidelity.md).

- An AMI name is unique per owner and Region: RegisterImage, CopyImage and CreateImage with a
  name already in use answer InvalidAMIName.Duplicate (moto registered a second image).
- RegisterImage keeps its request: TagSpecifications (image tags), BlockDeviceMappings (the
  snapshots given, not a made-up 15 GiB one), RootDeviceName, Architecture, BootMode, ENA,
  SR-IOV, TPM, IMDS, kernel and ramdisk; DescribeImages returns them (moto kept Name and
  Description only). A snapshot that does not exist is refused (InvalidSnapshot.NotFound), and a
  snapshot an image uses cannot be deleted (InvalidSnapshot.InUse).
- PlatformDetails and UsageOperation: "Linux/UNIX" and "RunInstances" unless the root snapshot
  carries the emulator-only tag `emulator:platform-details` (see PLATFORM_TAG); an emulator
  control for tests, standing in for the billing metadata EC2 reads from real snapshots.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError, InvalidSnapshotIdError, InvalidSnapshotInUse
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

    @property
    def block_device_mappings(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return self.mappings

    @property
    def snapshot_ids(self) -> list[str]:
        return [m["Ebs"]["SnapshotId"] for m in self.mappings if m.get("Ebs", {}).get("SnapshotId")]

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


def register_image(self: Any, name: str | None = None, description: str | None = None, **request: Any) -> Ami:
    mappings = _mappings(self, request.get("BlockDeviceMappings", []))
    root = request.get("RootDeviceName") or "/dev/sda1"
    with _names:
        _check_name(self, name)
        ami_id = random_ami_id()
        image = Image(
            self,
            ami_id,
            mappings,
            name=name,
            description=description,
            architecture=request.get("Architecture") or "x86_64",
            virtualization_type=request.get("VirtualizationType") or "hvm",
            root_device_name=root,
            boot_mode=request.get("BootMode"),
            image_location=request.get("ImageLocation") or f"{self.account_id}/{name}",
        )
        self.amis[ami_id] = image
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


_original_create_image = AmiBackend.create_image


def create_image(self: Any, instance_id: str, name: str, description: str, tag_specifications: Any) -> Ami:
    with _names:
        _check_name(self, name)
        return _original_create_image(self, instance_id, name, description, tag_specifications)


_original_delete_snapshot = EBSBackend.delete_snapshot


def delete_snapshot(self: Any, snapshot_id: str) -> Any:
    for image in _images(self):
        if snapshot_id in getattr(image, "snapshot_ids", []):
            raise InvalidSnapshotInUse(snapshot_id, image.id)
    return _original_delete_snapshot(self, snapshot_id)


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


_original_copy_image = AmiBackend.copy_image


def copy_image(
    self: Any, source_image_id: str, source_region: str, name: str | None = None, description: str | None = None
) -> Ami:
    from moto.ec2.models import ec2_backends

    source = ec2_backends[self.account_id][source_region].describe_images(ami_ids=[source_image_id])[0]
    with _names:
        _check_name(self, name or source.name)
        return _original_copy_image(self, source_image_id, source_region, name, description)


def install() -> None:
    AmiBackend.register_image = register_image  # type: ignore[method-assign]
    AmiBackend.copy_image = copy_image  # type: ignore[method-assign]
    AmiBackend.create_image = create_image  # type: ignore[method-assign]
    EBSBackend.delete_snapshot = delete_snapshot  # type: ignore[method-assign]
    AmisResponse.register_image = register_image_response  # type: ignore[method-assign]
