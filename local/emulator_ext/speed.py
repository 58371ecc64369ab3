"""Changes that make the emulator faster without changing any answer it gives (speed only, not
fidelity: docs/adr/0006-emulator-fidelity.md). Sampled while the workflow, lifecycle, pipeline
and reconcile tests ran, these four took about half of the emulator's CPU:

- tags: moto's TaggedEC2Resource.get_tags() asks its backend's describe_tags with the filter
  resource-id=<id>, which compiles a pattern and matches it against every tag of every resource
  in the Region. Each snapshot or image that a DescribeSnapshots or DescribeImages filters by
  tag, or renders with its tagSet, cost a pass over all tags, and the emulator slowed as a test
  run added snapshots (42% of its CPU). Here a resource's tags are read from its own entry: the
  same tags in the same order, as the same dicts.
- moto's dispatcher lists moto's package folder on disk for every request, to tell a service
  name from a host (list_of_moto_modules): listed once here.
- SNS signs each delivery with an RSA key that moto generates for each subscription (2,048
  bits, tens of milliseconds each, and test fixtures subscribe often): one key per emulator here.
  Nothing checks the signature against a certificate (moto serves none).
- EventBridge: each event that a rule sends to a target goes through moto's input transformer,
  which parses its eight default JSONPath expressions again, building a yacc parser each time
  (about 10 ms an event and target: three quarters of a RegisterImage's time once a pipeline's
  AMI-event rule exists). A parsed expression is kept here, by its text.
- werkzeug logs every request to the emulator's stderr, which nobody reads: requests are no
  longer logged (errors still are).
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

import jsonpath_ng.ext

from moto import backends
from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix
from moto.sns.models import Subscription


def get_tags(self: Any) -> list[dict[str, str]]:
    # A resource ID has no wildcard, so describe_tags' pattern for it matches that ID alone.
    tags = self.ec2_backend.tags.get(self.id) if self.id else None
    if not tags:
        return []
    resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(self.id), "")
    return [
        {"resource_id": self.id, "key": key, "value": value, "resource_type": resource_type}
        for key, value in tags.items()
    ]


def install() -> None:
    TaggedEC2Resource.get_tags = get_tags  # type: ignore[method-assign]
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    signing_key = cache(Subscription.private_key.__wrapped__)  # type: ignore[attr-defined]
    Subscription.private_key = lambda self: signing_key(None)  # type: ignore[method-assign]
    # moto imports jsonpath_ng.ext.parse at each call: the module's attribute is what it gets.
    jsonpath_ng.ext.parse = cache(jsonpath_ng.ext.parse)  # type: ignore[assignment]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
