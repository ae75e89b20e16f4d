"""Storage for private files: the same filesystem storage, without any URL."""

from __future__ import annotations

from django.core.files.storage import FileSystemStorage


class PrivateFileSystemStorage(FileSystemStorage):
    """Files that only an access-checked view may stream, never a public URL."""

    def url(self, name: str | None) -> str:
        raise NotImplementedError(
            "Private files have no public URL; stream them through their view."
        )
