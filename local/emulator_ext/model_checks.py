"""Requests checked against the service's own model, as AWS checks them (docs/adr/0006-emulator-fidelity.md).

moto serves what it is sent: eleven image IDs to DescribeImageReferences (EC2 takes ten), a
RegisterImage without Name, an enum value EC2 does not know. AWS refuses those before it does
anything. botocore, installed with moto, ships each service's model: every input shape with its
`required` members, `min`/`max` (lengths of strings, lists and maps; ranges of numbers),
`enum` and `pattern`. This module loads the models of the services the pipeline calls once, at
start, and checks every request against its operation's input shape before moto sees it:

- EC2 (EC2 query protocol: `Action=…`, `ImageId.1=…`): the first violation is answered as EC2
  answers, HTTP 400 with EC2's XML error, `MissingParameter` for a required member that is
  absent, `InvalidParameterValue` for the rest;
- SNS (query protocol): HTTP 400, `MissingParameter` / `InvalidParameter`, SNS's XML error;
- DynamoDB, SSM, SQS, EventBridge (JSON 1.0/1.1, `X-Amz-Target`): HTTP 400
  `ValidationException` with every violation in the message, in the form AWS's request
  validation uses ("1 validation error detected: Value '…' at 'names' failed to satisfy
  constraint: Member must have length less than or equal to 10"); SQS, a query-compatible
  service, answers with its query error codes.

Documented limits that the model does not carry (DynamoDB's 4 KB expressions and 400 KB items,
EC2's AMI names and tags, …) are in `limits.py`, each with its source, and are checked here too.

S3 (REST-XML) and Step Functions (served by the project's own endpoint, not moto) are not checked.
A request the checker cannot read (not JSON, an unknown operation) goes on to moto unchanged.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qs

from .throttle import _credential_scope, _read_body
from .limits import ROWS, by_operation
from .violations import PathPart, Violation

# The services checked, by their SigV4 signing name: (botocore's name, protocol).
SERVICES = {
    "ec2": ("ec2", "ec2"),
    "sns": ("sns", "query"),
    "dynamodb": ("dynamodb", "json"),
    "ssm": ("ssm", "json"),
    "sqs": ("sqs", "json"),
    "events": ("events", "json"),
}

@dataclass
class Refusal:
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    operation: str = ""


def _compile(pattern: str) -> Any:
    try:
        return re.compile(pattern)
    except re.error:
        pass
    try:  # Java's \p{L} and friends: the `regex` module (installed with moto) knows them.
        import regex

        return regex.compile(pattern)
    except Exception:  # noqa: BLE001 - a pattern neither engine reads is not checked
        return None


class Model:
    """One service's model, indexed once: operation → input shape; patterns compiled."""

    def __init__(self, name: str, protocol: str, document: dict[str, Any]) -> None:
        self.name = name
        self.protocol = protocol
        self.shapes: dict[str, dict[str, Any]] = document["shapes"]
        self.inputs = {
            op: spec["input"]["shape"] for op, spec in document["operations"].items() if "input" in spec
        }
        self._patterns: dict[str, Any] = {}
        self._wire: dict[str, dict[str, str]] = {}

    def pattern(self, shape_name: str) -> Any:
        """The shape's compiled pattern (None: none, or one that no engine here reads), compiled on first use."""
        if shape_name not in self._patterns:
            pattern = self.shapes[shape_name].get("pattern")
            self._patterns[shape_name] = _compile(pattern) if pattern is not None else None
        return self._patterns[shape_name]

    def wire_names(self, shape_name: str) -> dict[str, str]:
        """A structure's members by their name on the wire (query protocols), computed on first use."""
        names = self._wire.get(shape_name)
        if names is None:
            members = self.shapes[shape_name].get("members", {})
            names = {self.wire_name(name, member): name for name, member in members.items()}
            self._wire[shape_name] = names
        return names

    # --- query protocols: flat parameters → the model's structure ------------------------

    def wire_name(self, member_name: str, member: dict[str, Any]) -> str:
        if self.protocol == "ec2":
            if "queryName" in member:
                return member["queryName"]
            location = member.get("locationName")
            return location[0].upper() + location[1:] if location else member_name
        return member.get("locationName", member_name)

    def from_query(self, shape_name: str, node: dict[str, Any]) -> Any:
        """The value of a query-protocol parameter tree, shaped as the model's members (strings at the leaves)."""
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure":
            result = {}
            members = shape.get("members", {})
            names = self.wire_names(shape_name)
            for wire, child in node.items():
                member_name = names.get(wire)
                if member_name is not None:
                    result[member_name] = self.from_query(members[member_name]["shape"], child)
            return result
        if kind == "list":
            member = shape["member"]
            items = node
            if self.protocol != "ec2" and not shape.get("flattened"):
                items = node.get(member.get("locationName", "member"), {})
            return [self.from_query(member["shape"], items[i]) for i in _indexes(items)]
        if kind == "map":
            entries = node if shape.get("flattened") else node.get("entry", {})
            key_name = shape["key"].get("locationName", "key")
            value_name = shape["value"].get("locationName", "value")
            result = {}
            for i in _indexes(entries):
                key = entries[i].get(key_name, {}).get(_VALUE)
                if key is not None:
                    result[key] = self.from_query(shape["value"]["shape"], entries[i].get(value_name, {}))
            return result
        return node.get(_VALUE)


_VALUE = "\0"


def _tree(params: dict[str, list[str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, values in params.items():
        node = root
        for part in key.split("."):
            node = node.setdefault(part, {})
        node[_VALUE] = values[-1]
    return root


def _indexes(node: dict[str, Any]) -> list[str]:
    return sorted((k for k in node if k.isdigit()), key=int)


# --- the check ---------------------------------------------------------------------------


@dataclass
class Checker:
    """Walks a request's value along its input shape and collects what breaks the model."""

    model: Model
    query: bool  # values are strings as sent (query protocols), or JSON values
    found: list[Violation] = field(default_factory=list)

    def check(self, shape_name: str, value: Any, path: tuple[PathPart, ...]) -> None:
        shape = self.model.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure":
            if not isinstance(value, dict):
                return
            for required in shape.get("required", []):
                if value.get(required) is None:
                    member = shape["members"][required]
                    self.found.append(
                        Violation(
                            (*path, ("m", required, self.model.wire_name(required, member))),
                            None,
                            "Member must not be null",
                            missing=True,
                        )
                    )
            for member_name, member_value in value.items():
                member = shape.get("members", {}).get(member_name)
                if member is not None and member_value is not None:
                    part = ("m", member_name, self.model.wire_name(member_name, member))
                    self.check(member["shape"], member_value, (*path, part))
        elif kind == "list":
            if not isinstance(value, list):
                return
            self.length(shape, len(value), value, path)
            for i, item in enumerate(value, 1):
                if item is not None:
                    self.check(shape["member"]["shape"], item, (*path, ("i", str(i), str(i))))
        elif kind == "map":
            if not isinstance(value, dict):
                return
            self.length(shape, len(value), value, path)
            for key, item in value.items():
                self.check(shape["key"]["shape"], key, (*path, ("k", str(key), str(key))))
                if item is not None:
                    self.check(shape["value"]["shape"], item, (*path, ("k", str(key), str(key))))
        elif kind == "string":
            if not isinstance(value, str):
                return
            if "enum" in shape and value not in shape["enum"]:
                self.found.append(
                    Violation(path, value, f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]")
                )
            self.length(shape, len(value), value, path)
            pattern = self.model.pattern(shape_name) if "pattern" in shape else None
            if pattern is not None and not pattern.search(value):
                self.found.append(
                    Violation(path, value, f"Member must satisfy regular expression pattern: {shape['pattern']}")
                )
        elif kind in ("integer", "long", "float", "double"):
            number = self.number(kind, value, path)
            if number is None:
                return
            if "min" in shape and number < shape["min"]:
                self.found.append(Violation(path, value, f"Member must have value greater than or equal to {shape['min']}"))
            if "max" in shape and number > shape["max"]:
                self.found.append(Violation(path, value, f"Member must have value less than or equal to {shape['max']}"))
        elif kind == "boolean" and self.query and isinstance(value, str):
            if value.lower() not in ("true", "false"):
                self.found.append(Violation(path, value, "Member must be a boolean (true or false)"))
        elif kind == "blob" and ("min" in shape or "max" in shape) and isinstance(value, str):
            size = len(value.encode()) if self.query else len(base64.b64decode(value + "==", validate=False))
            self.length(shape, size, value, path)

    def length(self, shape: dict[str, Any], n: int, value: Any, path: tuple[PathPart, ...]) -> None:
        if "min" in shape and n < shape["min"]:
            self.found.append(Violation(path, value, f"Member must have length greater than or equal to {shape['min']}"))
        if "max" in shape and n > shape["max"]:
            self.found.append(Violation(path, value, f"Member must have length less than or equal to {shape['max']}"))

    def number(self, kind: str, value: Any, path: tuple[PathPart, ...]) -> float | None:
        if not self.query:
            return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        try:
            return int(value) if kind in ("integer", "long") else float(value)
        except (TypeError, ValueError):
            self.found.append(Violation(path, value, f"Member must be a number ({kind})"))
            return None


# --- the answers -------------------------------------------------------------------------


def _shown(value: Any, limit: int = 120) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return f"[{', '.join(_shown(v, 40) for v in value)}]"[:limit]
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else f"{text[:limit]}…"


def _quoted(value: Any) -> str:
    return "null" if value is None else f"'{_shown(value)}'"


def wire_path(path: tuple[PathPart, ...]) -> str:
    """The parameter as the query protocol names it: BlockDeviceMapping.1.Ebs.VolumeSize."""
    return ".".join(part[2] for part in path)


def json_path(path: tuple[PathPart, ...]) -> str:
    """The member as AWS's JSON validation names it: transactItems.1.member.update.updateExpression."""
    parts = []
    for kind, name, _ in path:
        parts.append(name[:1].lower() + name[1:] if kind == "m" else f"{name}.member" if kind == "i" else name)
    return ".".join(parts)


def _xml(code: str, message: str) -> str:
    from xml.sax.saxutils import escape

    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
        f"<Code>{code}</Code><Message>{escape(message)}</Message></Error></Errors>"
        f"<RequestID>{uuid.uuid4()}</RequestID></Response>"
    )


def ec2_refusal(violation: Violation) -> Refusal:
    """EC2 answers the first problem it finds, HTTP 400, in its XML error."""
    name = wire_path(violation.path)
    if violation.message is not None:
        code, message = violation.code or "InvalidParameterValue", violation.message
    elif violation.missing:
        code, message = "MissingParameter", f"The request must contain the parameter {name}"
    else:
        code = "InvalidParameterValue"
        shown = f"{len(violation.value)} values" if isinstance(violation.value, (list, dict)) else _shown(violation.value)
        rule = violation.constraint.replace("Member must", "It must", 1)
        message = f"Value ({shown}) for parameter {name} is invalid. {rule}."
    body = _xml(code, message).encode()
    return Refusal("400 Bad Request", [("Content-Type", "text/xml;charset=UTF-8")], body)


def sns_refusal(violation: Violation) -> Refusal:
    from xml.sax.saxutils import escape

    name = wire_path(violation.path)
    if violation.message is not None:
        code, message = violation.code or "InvalidParameter", violation.message
    elif violation.missing:
        code, message = "MissingParameter", f"The request must contain the parameter {name}."
    else:
        code = "InvalidParameter"
        message = f"Invalid parameter: {name} Reason: {violation.constraint.replace('Member must', 'must', 1)}"
    body = (
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    return Refusal("400 Bad Request", [("Content-Type", "text/xml")], body)


def coral_message(violations: list[Violation]) -> str:
    own = next((v for v in violations if v.message is not None), None)
    if own is not None:
        return own.message or ""
    details = [
        f"Value {_quoted(v.value)} "
        f"at '{json_path(v.path)}' failed to satisfy constraint: {v.constraint}"
        for v in violations
    ]
    count = len(details)
    return f"{count} validation error{'s' if count > 1 else ''} detected: {'; '.join(details)}"


def json_refusal(service: str, violations: list[Violation]) -> Refusal:
    message = coral_message(violations)
    own = next((v.code for v in violations if v.code), None)
    headers = [("Content-Type", "application/x-amz-json-1.0")]
    if service == "sqs":
        # SQS is query-compatible: the SDKs read the query error code from this header.
        code = own or ("MissingParameter" if any(v.missing for v in violations) else "InvalidParameterValue")
        headers.append(("x-amzn-query-error", f"{code};Sender"))
        error_type = f"com.amazonaws.sqs#{code}"
    elif service == "dynamodb":
        error_type = "com.amazon.coral.validate#ValidationException"
    else:
        error_type = "ValidationException"
    body = json.dumps({"__type": error_type, "message": message}).encode()
    return Refusal("400 Bad Request", headers, body)


# --- the service checks ------------------------------------------------------------------


Limit = Callable[[dict[str, Any]], list[Violation]]


class ModelChecks:
    """The models of SERVICES, loaded once; `refusal` answers a request AWS would refuse, else None."""

    def __init__(self, limits: dict[tuple[str, str], list[Limit]] | None = None) -> None:
        import botocore.loaders

        loader = botocore.loaders.Loader()
        self.models = {
            signing: Model(name, protocol, loader.load_service_model(name, "service-2"))
            for signing, (name, protocol) in SERVICES.items()
        }
        self.limits = by_operation(ROWS, self.models) if limits is None else limits

    def violations(self, service: str, operation: str, request: dict[str, Any]) -> list[Violation]:
        model = self.models[service]
        checker = Checker(model, query=model.protocol in ("ec2", "query"))
        checker.check(model.inputs[operation], request, ())
        for limit in self.limits.get((service, operation), []):
            checker.found.extend(limit(request))
        return checker.found

    def refusal(self, environ: dict[str, Any]) -> Refusal | None:
        scope = _credential_scope(environ)
        if scope is None or scope[2] not in self.models:
            return None
        service = scope[2]
        model = self.models[service]
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        body = _read_body(environ) if environ.get("REQUEST_METHOD") == "POST" else b""
        if model.protocol == "json":
            operation = target.rpartition(".")[2]
            if not target or operation not in model.inputs:
                return None
            try:
                request = json.loads(body or b"{}")
            except ValueError:
                return None
            found = self.violations(service, operation, request)
            return json_refusal(service, found) if found else None
        params = parse_qs(body.decode("utf-8", "replace") or environ.get("QUERY_STRING", ""), keep_blank_values=True)
        operation = (params.get("Action") or [""])[0]
        if operation not in model.inputs:
            return None
        request = model.from_query(model.inputs[operation], _tree(params))
        found = self.violations(service, operation, request)
        if not found:
            return None
        refusal = ec2_refusal(found[0]) if model.protocol == "ec2" else sns_refusal(found[0])
        refusal.operation = operation
        return refusal


# Emulator-only: a file to which every refusal is appended as a JSON line (service, operation
# and the answer), so that a whole test run can be searched for requests AWS would refuse, even
# where the code under test handled the error and the test passed.
REFUSALS_FILE = "SNAP2AMI_EMULATOR_REFUSALS"


def _note(environ: dict[str, Any], refusal: Refusal) -> None:
    path = os.environ.get(REFUSALS_FILE)
    if not path:
        return
    scope = _credential_scope(environ)
    target = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
    entry = {
        "service": scope[2] if scope else None,
        "region": scope[1] if scope else None,
        "operation": target or refusal.operation,
        "answer": refusal.body.decode("utf-8", "replace"),
    }
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


def middleware(app: Any, checks: ModelChecks) -> Any:
    """Answers a request the service's model (or a documented limit) refuses; passes the rest to `app`."""

    def checked_app(environ: dict[str, Any], start_response: Any) -> Any:
        try:
            refusal = checks.refusal(environ)
        except Exception as error:  # noqa: BLE001 - a checker fault must not hide the request from moto
            print(f"snap2ami emulator: model check failed: {error!r}", file=sys.stderr)
            refusal = None
        if refusal is None:
            return app(environ, start_response)
        _note(environ, refusal)
        start_response(refusal.status, [*refusal.headers, ("Content-Length", str(len(refusal.body)))])
        return [refusal.body]

    return checked_app
