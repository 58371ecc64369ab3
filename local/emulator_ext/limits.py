"""Documented request limits that the services' models do not carry (docs/adr/0006-emulator-fidelity.md).

Each row: the service and operation ("*": every operation of the service), what is checked, the
page of AWS's documentation that states it, and the check, which takes the request (shaped as
the model's members, as model_checks.py reads it) and answers its violations. Where the limit is
on a size that AWS counts in a way the emulator can only approach (a DynamoDB item's bytes), the
count here is never above AWS's, so the emulator refuses nothing that AWS accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .violations import PathPart, Violation


@dataclass(frozen=True)
class Row:
    service: str
    operations: tuple[str, ...]
    what: str
    source: str
    check: Callable[[dict[str, Any]], list[Violation]]


def m(name: str, wire: str | None = None) -> PathPart:
    return ("m", name, wire or name)


def i(index: int) -> PathPart:
    return ("i", str(index), str(index))


# --- EC2 -----------------------------------------------------------------------------------

AMI_NAME = re.compile(r"^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$")


def ami_name(request: dict[str, Any]) -> list[Violation]:
    name = request.get("Name")
    if not isinstance(name, str) or AMI_NAME.match(name):
        return []
    return [
        Violation(
            (m("Name"),),
            name,
            "",
            code="InvalidAMIName.Malformed",
            message=f"AMI name {name} is invalid. AMI names must be between 3 and 128 characters long, and may "
            "contain letters, numbers, '(', ')', '[', ']', ' ', '.', '/', '-', ''', '@' and '_'.",
        )
    ]


def image_description(request: dict[str, Any]) -> list[Violation]:
    description = request.get("Description")
    if isinstance(description, str) and len(description) > 255:
        return [
            Violation(
                (m("Description"),),
                description,
                "",
                code="InvalidParameterValue",
                message=f"Value for parameter Description is invalid: {len(description)} characters, at most 255.",
            )
        ]
    return []


def _tag_lists(request: dict[str, Any]) -> Iterator[tuple[tuple[PathPart, ...], list[Any]]]:
    if isinstance(request.get("Tags"), list):  # CreateTags
        yield (m("Tags", "Tag"),), request["Tags"]
    for n, spec in enumerate(request.get("TagSpecifications") or [], 1):
        if isinstance(spec, dict) and isinstance(spec.get("Tags"), list):
            yield (m("TagSpecifications", "TagSpecification"), i(n), m("Tags", "Tag")), spec["Tags"]


def ec2_tags(request: dict[str, Any]) -> list[Violation]:
    found = []
    for path, tags in _tag_lists(request):
        if len(tags) > 50:
            found.append(
                Violation(path, tags, "", code="TagLimitExceeded", message="The maximum number of tags per resource is 50.")
            )
        for n, tag in enumerate(tags, 1):
            key = tag.get("Key") if isinstance(tag, dict) else None
            value = tag.get("Value") if isinstance(tag, dict) else None
            where = (*path, i(n))
            if isinstance(key, str) and key.lower().startswith("aws:"):
                found.append(
                    Violation(
                        (*where, m("Key")),
                        key,
                        "",
                        code="InvalidParameterValue",
                        message="Tag keys starting with 'aws:' are reserved for internal use",
                    )
                )
            if isinstance(key, str) and not 1 <= len(key) <= 128:
                found.append(
                    Violation(
                        (*where, m("Key")),
                        key,
                        "",
                        code="InvalidParameterValue",
                        message=f"Tag key must be 1 to 128 characters long; this one has {len(key)}.",
                    )
                )
            if isinstance(value, str) and len(value) > 256:
                found.append(
                    Violation(
                        (*where, m("Value")),
                        value,
                        "",
                        code="InvalidParameterValue",
                        message=f"Tag value must be at most 256 characters long; the value of tag {key} has {len(value)}.",
                    )
                )
    return found


# --- DynamoDB ------------------------------------------------------------------------------

EXPRESSION_BYTES = 4096
ITEM_BYTES = 400 * 1024


def _expressions(value: Any, path: tuple[PathPart, ...]) -> Iterator[tuple[tuple[PathPart, ...], str, str]]:
    if isinstance(value, dict):
        for key, child in value.items():
            if key.endswith("Expression") and isinstance(child, str):
                yield (*path, m(key)), key, child
            elif key not in ("Item", "Key", "ExpressionAttributeValues"):
                yield from _expressions(child, (*path, m(key)))
    elif isinstance(value, list):
        for n, child in enumerate(value, 1):
            yield from _expressions(child, (*path, i(n)))


def expression_size(request: dict[str, Any]) -> list[Violation]:
    found = []
    for path, name, expression in _expressions(request, ()):
        size = len(expression.encode())
        if size > EXPRESSION_BYTES:
            found.append(
                Violation(
                    path,
                    expression,
                    "",
                    message=f"Invalid {name}: Expression size has exceeded the maximum allowed size; "
                    f"expression size: {size}",
                )
            )
    return found


def attribute_size(value: Any) -> int:
    """An attribute value's size as DynamoDB counts it, or less (never more)."""
    if not isinstance(value, dict) or len(value) != 1:
        return 0
    (kind, content), = value.items()
    if kind == "S":
        return len(str(content).encode())
    if kind == "N":
        return (len(str(content).lstrip("-").replace(".", "").strip("0")) + 1) // 2 + 1
    if kind == "B":
        return len(str(content)) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS", "NS"):
        return sum(attribute_size({kind[0]: member}) for member in content or [])
    if kind == "L":
        return 3 + sum(1 + attribute_size(member) for member in content or [])
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_size(v) for k, v in (content or {}).items())
    return 0


def item_size(item: Any) -> int:
    if not isinstance(item, dict):
        return 0
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def _items(request: dict[str, Any]) -> Iterator[tuple[tuple[PathPart, ...], Any]]:
    if "Item" in request:  # PutItem
        yield (m("Item"),), request["Item"]
    for n, action in enumerate(request.get("TransactItems") or [], 1):
        put = action.get("Put") if isinstance(action, dict) else None
        if isinstance(put, dict):
            yield (m("TransactItems"), i(n), m("Put"), m("Item")), put.get("Item")
    for table, writes in (request.get("RequestItems") or {}).items():
        for n, write in enumerate(writes if isinstance(writes, list) else [], 1):
            put = write.get("PutRequest") if isinstance(write, dict) else None
            if isinstance(put, dict):
                yield (m("RequestItems"), ("k", table, table), i(n), m("PutRequest"), m("Item")), put.get("Item")


def item_limit(request: dict[str, Any]) -> list[Violation]:
    return [
        Violation(path, None, "", message="Item size has exceeded the maximum allowed size")
        for path, item in _items(request)
        if item_size(item) > ITEM_BYTES
    ]


def batch_total(operation: str, most: int, entries: str) -> Callable[[dict[str, Any]], list[Violation]]:
    def check(request: dict[str, Any]) -> list[Violation]:
        total = 0
        for requests in (request.get("RequestItems") or {}).values():
            if isinstance(requests, list):
                total += len(requests)
            elif isinstance(requests, dict):
                total += len(requests.get(entries) or [])
        if total <= most:
            return []
        return [
            Violation(
                (m("RequestItems"),),
                None,
                "",
                message=f"Too many items requested for the {operation} call",
            )
        ]

    return check


# --- SSM -----------------------------------------------------------------------------------


def parameter_value(request: dict[str, Any]) -> list[Violation]:
    value = request.get("Value")
    advanced = request.get("Tier") in ("Advanced", "Intelligent-Tiering")
    most = 8192 if advanced else 4096
    if not isinstance(value, str) or len(value) <= most:
        return []
    tier = "Advanced" if advanced else "Standard"
    return [
        Violation(
            (m("Value"),),
            None,
            "",
            message=f"{tier} tier parameters support a maximum parameter value of {most} characters.",
        )
    ]


def parameter_levels(request: dict[str, Any]) -> list[Violation]:
    name = request.get("Name")
    if not isinstance(name, str) or name.startswith("arn:") or name.strip("/").count("/") < 15:
        return []
    return [
        Violation(
            (m("Name"),),
            name,
            "",
            code="HierarchyLevelLimitExceededException",
            message="A hierarchy can have a maximum of 15 levels.",
        )
    ]


# --- SQS -----------------------------------------------------------------------------------


def sqs_range(member: str, low: int, high: int) -> Callable[[dict[str, Any]], list[Violation]]:
    def check(request: dict[str, Any]) -> list[Violation]:
        value = request.get(member)
        if not isinstance(value, int) or low <= value <= high:
            return []
        return [
            Violation(
                (m(member),),
                value,
                "",
                code="InvalidParameterValue",
                message=f"Value {value} for parameter {member} is invalid. Reason: Must be between {low} and {high}.",
            )
        ]

    return check


def sqs_batch(request: dict[str, Any]) -> list[Violation]:
    entries = request.get("Entries")
    if not isinstance(entries, list) or len(entries) <= 10:
        return []
    return [
        Violation(
            (m("Entries"),),
            None,
            "",
            code="TooManyEntriesInBatchRequest",
            message=f"Maximum number of entries per request are 10. You have sent {len(entries)}.",
        )
    ]


# --- SNS -----------------------------------------------------------------------------------


def sns_subject(request: dict[str, Any]) -> list[Violation]:
    subject = request.get("Subject")
    if not isinstance(subject, str) or len(subject) < 100:
        return []
    return [Violation((m("Subject"),), subject, "", message="Invalid parameter: Subject")]


EC2_API = "EC2 API Reference"
DDB_LIMITS = "DynamoDB Developer Guide, Constraints in Amazon DynamoDB"
ROWS = (
    Row(
        "ec2",
        ("RegisterImage", "CopyImage", "CreateImage"),
        "AMI name: 3-128 letters, numbers, ( ) [ ] space . / - ' @ _",
        f"{EC2_API}, RegisterImage / CopyImage / CreateImage, Name: 'Constraints: 3-128 alphanumeric characters, "
        "parentheses (()), square brackets ([]), spaces ( ), periods (.), slashes (/), dashes (-), single quotes ('), "
        "at-signs (@), or underscores(_)'",
        ami_name,
    ),
    Row(
        "ec2",
        ("RegisterImage",),
        "AMI description: at most 255 characters",
        f"{EC2_API}, RegisterImage, Description: 'Constraints: Up to 255 characters'",
        image_description,
    ),
    Row(
        "ec2",
        ("*",),
        "tags (CreateTags, TagSpecifications): at most 50 per resource, key 1-128 characters and not aws:, value at most 256",
        "Amazon EC2 User Guide, Tag your Amazon EC2 resources, Tag restrictions",
        ec2_tags,
    ),
    Row(
        "dynamodb",
        ("*",),
        "every expression string (Condition, Update, Projection, Filter, KeyCondition): at most 4 KB",
        f"{DDB_LIMITS}, Expression parameters: 'The maximum length of any expression string is 4 KB'",
        expression_size,
    ),
    Row(
        "dynamodb",
        ("PutItem", "TransactWriteItems", "BatchWriteItem"),
        "item size (names and values, UTF-8): at most 400 KB",
        f"{DDB_LIMITS}, Items: 'The maximum item size in DynamoDB is 400 KB'",
        item_limit,
    ),
    Row(
        "dynamodb",
        ("BatchWriteItem",),
        "at most 25 put or delete requests in all tables together",
        "DynamoDB API Reference, BatchWriteItem: 'up to 25 item put or delete operations'",
        batch_total("BatchWriteItem", 25, ""),
    ),
    Row(
        "dynamodb",
        ("BatchGetItem",),
        "at most 100 keys in all tables together",
        "DynamoDB API Reference, BatchGetItem: 'as many as 100 items'",
        batch_total("BatchGetItem", 100, "Keys"),
    ),
    Row(
        "ssm",
        ("PutParameter",),
        "value: at most 4 KB (Standard tier), 8 KB (Advanced)",
        "AWS Systems Manager API Reference, PutParameter, Value: 'Standard parameters have a value limit of 4 KB. "
        "Advanced parameters have a value limit of 8 KB.'",
        parameter_value,
    ),
    Row(
        "ssm",
        ("PutParameter",),
        "name: at most 15 levels of hierarchy",
        "AWS Systems Manager User Guide, Parameter Store, naming constraints: 'A parameter name hierarchy can have a "
        "maximum of 15 levels'",
        parameter_levels,
    ),
    Row(
        "sqs",
        ("ReceiveMessage",),
        "MaxNumberOfMessages 1-10",
        "Amazon SQS API Reference, ReceiveMessage, MaxNumberOfMessages: 'Valid values: 1 to 10'",
        sqs_range("MaxNumberOfMessages", 1, 10),
    ),
    Row(
        "sqs",
        ("ReceiveMessage",),
        "WaitTimeSeconds 0-20",
        "Amazon SQS API Reference, ReceiveMessage, WaitTimeSeconds (long polling at most 20 seconds)",
        sqs_range("WaitTimeSeconds", 0, 20),
    ),
    Row(
        "sqs",
        ("ReceiveMessage", "ChangeMessageVisibility"),
        "VisibilityTimeout 0-43200 (12 hours)",
        "Amazon SQS API Reference, ChangeMessageVisibility, VisibilityTimeout: 'Values range: 0 to 43200'",
        sqs_range("VisibilityTimeout", 0, 43200),
    ),
    Row(
        "sqs",
        ("SendMessage",),
        "DelaySeconds 0-900",
        "Amazon SQS API Reference, SendMessage, DelaySeconds: 'Valid values: 0 to 900'",
        sqs_range("DelaySeconds", 0, 900),
    ),
    Row(
        "sqs",
        ("SendMessageBatch", "DeleteMessageBatch", "ChangeMessageVisibilityBatch"),
        "at most 10 entries",
        "Amazon SQS API Reference, SendMessageBatch / DeleteMessageBatch / ChangeMessageVisibilityBatch: "
        "'up to 10 messages' (TooManyEntriesInBatchRequest)",
        sqs_batch,
    ),
    Row(
        "sns",
        ("Publish",),
        "Subject: less than 100 characters",
        "Amazon SNS API Reference, Publish, Subject: 'must be UTF-8 text with no line breaks or control characters, "
        "and less than 100 characters long'",
        sns_subject,
    ),
)


def by_operation(rows: tuple[Row, ...], models: dict[str, Any]) -> dict[tuple[str, str], list[Callable[..., Any]]]:
    """The rows indexed by (service, operation), with "*" expanded to every operation of the model."""
    index: dict[tuple[str, str], list[Callable[..., Any]]] = {}
    for row in rows:
        operations = models[row.service].inputs if row.operations == ("*",) else row.operations
        for operation in operations:
            index.setdefault((row.service, operation), []).append(row.check)
    return index
