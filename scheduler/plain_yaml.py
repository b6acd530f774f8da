"""YAML as people write it, for the commands that print Kubernetes objects (kubectl apply -f -)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml


class PlainDumper(yaml.SafeDumper):
    """A value used twice is written twice, never as an &id001 anchor and *id001 alias to decode."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def plain_yaml(documents: Iterable[Any]) -> str:
    """The documents as a YAML stream, keys in the order given, without anchors or aliases."""
    return yaml.dump_all(documents, Dumper=PlainDumper, sort_keys=False)
