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
- moto lists a response class's methods (inspect.getmembers) on every request, to tell whether
  it has the action asked for: listed once per class here.
- SQS: a queue's attributes count its messages three times (waiting, delayed, in flight), each
  a pass over every message; moto asks for them on every SendMessage (for one flag) and per name
  in GetQueueAttributes. Here one pass gives all three, once per attributes asked.
- DynamoDB: an update expression's tree is walked by ten processors, and moto's walk rebuilt the
  list of node kinds to process (a dict and a tuple) at every node: a third of an UpdateItem's
  time, which the workflow's record writes spend at every step. Here each walk builds it once;
  the nodes visited, in the same order, and what is done to them are the same.
- werkzeug logs every request to the emulator's stderr, which nobody reads: requests are no
  longer logged (errors still are).
"""

from __future__ import annotations

import logging
import threading
from functools import cache
from typing import Any

import jsonpath_ng.ext
import moto.core.responses

from moto import backends
from moto.core.utils import unix_time_millis
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node
from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix
from moto.sns.models import Subscription
from moto.sqs.models import Queue


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


_counting = threading.local()
_COUNTS = {
    "approximate_number_of_messages": 0,
    "approximate_number_of_messages_delayed": 1,
    "approximate_number_of_messages_not_visible": 2,
}


def _counts(queue: Any) -> tuple[int, int, int]:
    """Waiting (visible, not delayed), delayed, and in flight (not visible): moto's three counts, in one pass."""
    now = unix_time_millis()
    waiting = delayed = in_flight = 0
    for message in queue._messages:
        is_visible = now > message.visible_at
        is_delayed = now < message.delayed_until
        waiting += is_visible and not is_delayed
        delayed += is_delayed
        in_flight += not is_visible
    return waiting, delayed, in_flight


def _install_queue_counts() -> None:
    attributes = Queue.attributes.fget  # type: ignore[attr-defined]

    def counted_attributes(self: Any) -> dict[str, Any]:
        _counting.queue, _counting.counts = self, _counts(self)
        try:
            return attributes(self)
        finally:
            _counting.queue = _counting.counts = None

    def count(name: str, original: Any) -> property:
        def get(self: Any) -> int:
            if getattr(_counting, "queue", None) is self:
                return _counting.counts[_COUNTS[name]]
            return original.fget(self)

        return property(get)

    for name in _COUNTS:
        setattr(Queue, name, count(name, getattr(Queue, name)))
    Queue.attributes = property(counted_attributes)  # type: ignore[method-assign,assignment]


def traverse(self: Any, root: Any) -> Any:
    """DepthFirstTraverser.traverse_node_recursively's walk, with the kinds looked up once."""
    kinds = self.nodes_to_be_processed()

    def visit(node: Any, child_id: int) -> Any:
        if isinstance(node, Node):
            parent_node = node.parent
            if node.children is not None:
                for i, child_node in enumerate(node.children):
                    self.pre_processing_of_child(node, i)
                    visit(child_node, i)
            if isinstance(node, kinds):
                node = self.process(node)
                node.parent = parent_node
                if parent_node:
                    parent_node.children[child_id] = node
        return node

    return visit(root, -1)


def install() -> None:
    DepthFirstTraverser.traverse = traverse  # type: ignore[method-assign]
    TaggedEC2Resource.get_tags = get_tags  # type: ignore[method-assign]
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    signing_key = cache(Subscription.private_key.__wrapped__)  # type: ignore[attr-defined]
    Subscription.private_key = lambda self: signing_key(None)  # type: ignore[method-assign]
    methods = cache(moto.core.responses.method_names_from_class)
    moto.core.responses.method_names_from_class = methods  # type: ignore[assignment]
    _install_queue_counts()
    # moto imports jsonpath_ng.ext.parse at each call: the module's attribute is what it gets.
    jsonpath_ng.ext.parse = cache(jsonpath_ng.ext.parse)  # type: ignore[assignment]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
