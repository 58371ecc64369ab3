"""botocore's data files (service models, endpoints) read once per emulator process, not once per
reader: speed only, every answer the same (docs/adr/0006-emulator-fidelity.md).

botocore caches what a Loader has read on that Loader, and moto makes many: a boto3 Session for
each of the three Region lists it builds as moto.ec2 loads, one per account's backends, one for
its response parsing, one to name the service of each kind of error it answers, and the model
checks one more. Each listed botocore's 400 service folders again, and parsed EC2's service
model (a fifth of a second) again: about 0.4 s of CPU at each start, and a folder listing at the
first error of each service; a test run starts 13 emulators. Here the first read of each file is kept for the process and handed to every
Loader with the same search paths. botocore already hands one parsed model to all the readers of
a Loader, so nothing here depends on a model that a reader may change.

install() must run before moto is imported: moto.ec2 reads the models as its modules load.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from botocore.loaders import Loader


def _shared(method: Any) -> Any:
    kept: dict[tuple[Any, ...], Any] = {}

    @wraps(method)
    def read_once(self: Loader, *args: Any, **kwargs: Any) -> Any:
        key = (tuple(self.search_paths), args, tuple(sorted(kwargs.items())))
        if key not in kept:
            kept[key] = method(self, *args, **kwargs)
        return kept[key]

    return read_once


def install() -> None:
    for name in ("list_available_services", "list_api_versions", "load_service_model", "load_data_with_path"):
        setattr(Loader, name, _shared(getattr(Loader, name)))
