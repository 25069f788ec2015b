"""The keys that protect personal data: from configuration, or a development default.

In production JAGA_MASTER_KEYS and JAGA_LOOKUP_KEY come from the deployment's secret store.
Without them (a laptop, `make run`), Jaga generates both once into `<data_dir>/secrets.json`
(mode 0600) and warns: losing that file makes every sealed value unreadable.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from pathlib import Path

import msgspec

from events.personal import LookupHasher, MasterKeys
from services.config import Settings

log = logging.getLogger("jaga.secrets")


class Secrets(msgspec.Struct, frozen=True):
    master_keys: str
    lookup_key: str

    def master(self) -> MasterKeys:
        return MasterKeys.parse(self.master_keys)

    def lookup(self) -> LookupHasher:
        return LookupHasher(base64.b64decode(self.lookup_key))


def resolve_secrets(settings: Settings) -> Secrets:
    if settings.master_keys and settings.lookup_key:
        return Secrets(settings.master_keys, settings.lookup_key)
    stored = _development_secrets(settings.data_dir)
    return Secrets(
        settings.master_keys or stored.master_keys, settings.lookup_key or stored.lookup_key
    )


def _development_secrets(data_dir: Path) -> Secrets:
    path = data_dir / "secrets.json"
    if path.exists():
        return msgspec.json.decode(path.read_bytes(), type=Secrets)
    data_dir.mkdir(parents=True, exist_ok=True)
    fresh = Secrets(
        master_keys=MasterKeys.generate("dev1"),
        lookup_key=base64.b64encode(secrets.token_bytes(32)).decode(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(msgspec.json.encode(fresh))
    log.warning(
        "JAGA_MASTER_KEYS / JAGA_LOOKUP_KEY not set: generated development keys in %s "
        "(set them from a secret store in production)",
        path,
    )
    return fresh
