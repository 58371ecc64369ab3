"""EC2 images as EC2 makes them, where moto 5.2.5 differs (docs/adr/0004-emulator-fidelity.md).

- An AMI name is unique per owner and Region: RegisterImage, CopyImage and CreateImage with a
  name already in use answer InvalidAMIName.Duplicate (moto registered a second image).
"""

from __future__ import annotations

import threading
from typing import Any

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.amis import Ami, AmiBackend

# Names are checked and images added under one lock: moto's server is threaded, and EC2 never
# lets two racing registrations both take a name.
_names = threading.Lock()


class DuplicateAmiName(EC2ClientError):
    def __init__(self, name: str, image_id: str):
        super().__init__("InvalidAMIName.Duplicate", f"AMI name {name} is already in use by AMI {image_id}")


def _images(backend: Any) -> list[Any]:
    return list(backend.amis.values())


def _check_name(backend: Any, name: str | None) -> None:
    if not name:
        return
    for image in _images(backend):
        if image.name == name and image.owner_id == backend.account_id:
            raise DuplicateAmiName(name, image.id)


_original_register_image = AmiBackend.register_image
_original_copy_image = AmiBackend.copy_image
_original_create_image = AmiBackend.create_image


def register_image(self: Any, name: str | None = None, description: str | None = None) -> Ami:
    with _names:
        _check_name(self, name)
        return _original_register_image(self, name, description)


def copy_image(
    self: Any, source_image_id: str, source_region: str, name: str | None = None, description: str | None = None
) -> Ami:
    from moto.ec2.models import ec2_backends

    source = ec2_backends[self.account_id][source_region].describe_images(ami_ids=[source_image_id])[0]
    with _names:
        _check_name(self, name or source.name)
        return _original_copy_image(self, source_image_id, source_region, name, description)


def create_image(self: Any, instance_id: str, name: str, description: str, tag_specifications: Any) -> Ami:
    with _names:
        _check_name(self, name)
        return _original_create_image(self, instance_id, name, description, tag_specifications)


def install() -> None:
    AmiBackend.register_image = register_image  # type: ignore[method-assign]
    AmiBackend.copy_image = copy_image  # type: ignore[method-assign]
    AmiBackend.create_image = create_image  # type: ignore[method-assign]
