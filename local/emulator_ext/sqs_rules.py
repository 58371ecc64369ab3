"""SQS's message rules, which moto 5.2.5 does not enforce (docs/adr/0001-local-aws.md).

Real SQS counts a message's size in UTF-8 bytes, the body and every message attribute's
name, type and value together, against the queue's MaximumMessageSize; moto counts the
body alone, in characters. Real SQS refuses a body or a string attribute holding a
character outside #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF
(InvalidMessageContents); moto accepts lone surrogates and control characters. The
dead-letter path relies on both rules (shared/dead-letter.ts), so the emulator applies them
to SendMessage and SendMessageBatch (which sends each entry through send_message).
"""

import re

from moto.sqs.exceptions import InvalidParameterValue, SQSException
from moto.sqs.models import SQSBackend

_NOT_ALLOWED = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class InvalidMessageContents(SQSException):
    # moto finds an error's service (for its wire format) by the exception's module.
    __module__ = "moto.sqs.exceptions"

    def __init__(self) -> None:
        super().__init__(
            "InvalidMessageContents",
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to "
            "#xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
        )


def _utf8(text: str) -> int:
    # surrogatepass: a lone surrogate still has a size (it is refused below anyway)
    return len(text.encode("utf-8", "surrogatepass"))


def _check(queue, body, attributes) -> None:
    strings = [body] + [
        value.get("string_value") or value.get("StringValue") or ""
        for value in (attributes or {}).values()
    ]
    if any(_NOT_ALLOWED.search(text) for text in strings):
        raise InvalidMessageContents()
    size = _utf8(body)
    for name, value in (attributes or {}).items():
        data_type = value.get("data_type") or value.get("DataType") or ""
        payload = value.get("string_value") or value.get("StringValue") or ""
        binary = value.get("binary_value") or value.get("BinaryValue") or b""
        size += _utf8(name) + _utf8(data_type) + _utf8(payload) + len(binary)
    if size > int(queue.maximum_message_size):
        raise InvalidParameterValue(
            "One or more parameters are invalid. Reason: Message must be shorter than "
            f"{queue.maximum_message_size} bytes."
        )


def install() -> None:
    send_message = SQSBackend.send_message

    def checked_send_message(self, queue_name, message_body, message_attributes=None, *args, **kwargs):
        _check(self.get_queue(queue_name), message_body, message_attributes)
        return send_message(self, queue_name, message_body, message_attributes, *args, **kwargs)

    SQSBackend.send_message = checked_send_message
