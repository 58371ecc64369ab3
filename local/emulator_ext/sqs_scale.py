"""ReceiveMessage at the scale of a burst (docs/adr/0009-admission-control.md).

moto 5.2.5 checks each message it is about to return against the queue's retention period by
asking for the queue's attributes, and computing them counts every message of the queue three
times (ApproximateNumberOfMessages, …Delayed, …NotVisible), three times over: one ReceiveMessage
of ten messages from a queue holding 2,000 took 3 seconds here. A burst of a thousand snapshot
events, deferred by admission control, holds that many. The check is the same; it reads the
retention period directly.
"""

from moto.core.utils import unix_time
from moto.sqs.models import SQSBackend


def install() -> None:
    def is_message_valid_based_on_retention_period(self, queue_name, message) -> bool:
        queue = self.get_queue(queue_name)
        retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
        return retain_until > unix_time()

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
