"""Two accounts and what EC2 and STS refuse between them (docs/adr/0006-emulator-fidelity.md).

moto keeps one backend per account (its multi-account support: the `x-moto-account-id` header,
or credentials from AssumeRole into a role of another account). A central image account and a
member account then each have their own snapshots, but moto lets nothing cross between them:
a snapshot another account shared is invisible, and CopySnapshot looks for its source in the
caller's own account only. This module adds what EC2 does, and refuses what EC2 refuses:

- DescribeSnapshots also lists snapshots of other accounts (same Region) that are shared with
  the caller (ModifySnapshotAttribute createVolumePermission: the caller's account, or `all`),
  as EC2 does when no owner is named, without their tags: tags belong to the owner's account
  and do not travel with a share;
- CopySnapshot copies a snapshot the caller owns or that is shared with it; any other is
  InvalidSnapshot.NotFound, as for a snapshot that does not exist. The copy is encrypted when
  the source is or `Encrypted` is set, with `KmsKeyId` or the account's default EBS key;
- AssumeRole of a role in another account needs the role to exist there and its trust policy
  to name the caller's account (else AccessDenied); moto itself lets any ARN be assumed.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError, InvalidSnapshotIdError
from moto.ec2.models.elastic_block_store import EBSBackend, Snapshot
from moto.ec2.responses.elastic_block_store import ElasticBlockStore
from moto.sts.exceptions import STSClientError
from moto.sts.models import STSBackend
from moto.utilities.utils import get_partition


class SharedSnapshotView(Snapshot):
    """Another account's snapshot as a recipient sees it: the same snapshot, without its tags."""

    def get_tags(self) -> list[dict[str, str]]:
        return []


def shared_with(snapshot: Snapshot, account: str) -> bool:
    return account in snapshot.create_volume_permission_userids or "all" in snapshot.create_volume_permission_groups


def shared_snapshots(backend: Any) -> list[Snapshot]:
    """Snapshots of other accounts in the backend's Region shared with its account, as it sees them."""
    from moto.ec2.models import ec2_backends

    views: list[Snapshot] = []
    for account, regions in list(ec2_backends.items()):
        if account == backend.account_id or backend.region_name not in regions:
            continue
        for snapshot in list(regions[backend.region_name].snapshots.values()):
            if shared_with(snapshot, backend.account_id):
                view = copy.copy(snapshot)
                view.__class__ = SharedSnapshotView
                views.append(view)
    return views


original_describe_snapshots = EBSBackend.describe_snapshots


def describe_snapshots(self: Any, snapshot_ids: list[str] | None = None, filters: Any = None) -> list[Snapshot]:
    from moto.ec2.utils import generic_filter

    own = list(self.snapshots.values())
    matches = own + shared_snapshots(self)
    if snapshot_ids:
        matches = [snap for snap in matches if snap.id in snapshot_ids]
        if len(set(snapshot_ids)) > len({snap.id for snap in matches}):
            raise InvalidSnapshotIdError()
    if filters:
        matches = generic_filter(filters, matches)
    return matches


def source_snapshot(backend: Any, snapshot_id: str, region: str) -> Snapshot:
    """The caller's own snapshot or one shared with it, in `region`; InvalidSnapshot.NotFound otherwise."""
    from moto.ec2.models import ec2_backends

    for account, regions in list(ec2_backends.items()):
        if region not in regions:
            continue
        snapshot = regions[region].snapshots.get(snapshot_id)
        if snapshot is not None and (account == backend.account_id or shared_with(snapshot, backend.account_id)):
            return snapshot
    raise EC2ClientError("InvalidSnapshot.NotFound", f"The snapshot '{snapshot_id}' does not exist.")


def copy_snapshot(self: Any) -> ActionResult:
    source_id = self._get_param("SourceSnapshotId")
    source_region = self._get_param("SourceRegion") or self.region
    kms_key_id = self._get_param("KmsKeyId")
    encrypt = str(self._get_param("Encrypted", "false")).lower() == "true"
    tags = self._parse_tag_specification().get("snapshot", {})
    self.error_on_dryrun()
    source = source_snapshot(self.ec2_backend, source_id, source_region)
    encrypted = bool(source.encrypted or encrypt or kms_key_id)
    if kms_key_id and not encrypted:
        raise EC2ClientError("InvalidParameterDependency", "KmsKeyId needs Encrypted.")
    if encrypted and not kms_key_id:
        if not self.ec2_backend.default_kms_key_id:
            self.ec2_backend._create_default_encryption_key()
        kms_key_id = self.ec2_backend.default_kms_key_id
    from moto.ec2.utils import random_snapshot_id

    snapshot = Snapshot(
        self.ec2_backend,
        random_snapshot_id(),
        volume=source.volume,
        description=self._get_param("Description"),
        encrypted=encrypted,
        kms_key_id=kms_key_id if encrypted else None,
    )
    self.ec2_backend.snapshots[snapshot.id] = snapshot
    snapshot.add_tags(tags)
    return ActionResult({"SnapshotId": snapshot.id, "Tags": snapshot.tag_set})


original_assume_role = STSBackend.assume_role


def assume_role(self: Any, region_name: str, role_session_name: str, role_arn: str, *args: Any, **kwargs: Any) -> Any:
    from moto.iam.models import iam_backends

    target = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    if target and target != self.account_id:
        denied = STSClientError(
            "AccessDenied",
            f"User: arn:aws:iam::{self.account_id}:root is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        )
        try:
            role = iam_backends[target][get_partition(region_name)].get_role_by_arn(role_arn)
        except Exception:
            raise denied from None
        policy = role.assume_role_policy_document
        text = policy if isinstance(policy, str) else json.dumps(policy)
        if self.account_id not in text:
            raise denied
    return original_assume_role(self, region_name, role_session_name, role_arn, *args, **kwargs)


def install() -> None:
    EBSBackend.describe_snapshots = describe_snapshots  # type: ignore[method-assign]
    ElasticBlockStore.copy_snapshot = copy_snapshot  # type: ignore[method-assign]
    STSBackend.assume_role = assume_role  # type: ignore[method-assign]
