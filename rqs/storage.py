"""File storages: local folders by default, S3-compatible object storage with
``STORAGE_URL``.

``STORAGE_URL`` names a bucket and, optionally, a prefix inside it::

    s3://[<access key>:<secret key>@]<bucket>[/<prefix>][?<options>]

    options: endpoint_url=<url>  region=<name>  addressing_style=path|virtual
             acl=private|none

The default storage (reports, uploads awaiting confirmation) keeps its files
under ``<prefix>/media/``, papers under ``<prefix>/papers/``, both private.
Without credentials in the URL (percent-encoded: a ``/`` in a secret key is
``%2F``) boto3 finds them as usual: ``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY``, or a role (EKS IRSA, an instance profile).
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.exceptions import ClientError
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, Storage
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

# A signed download link is issued after the access check and lives this long.
SIGNED_URL_SECONDS = 60
# Reads from the bucket are buffered this much at a time.
READ_CHUNK = 2**18
S3_BACKEND = "storages.backends.s3.S3Storage"
PRIVATE_S3_BACKEND = "rqs.storage.PrivateS3Storage"
_QUERY_KEYS = {"endpoint_url", "region", "addressing_style", "acl"}


class PrivateFileSystemStorage(FileSystemStorage):
    """Files that only an access-checked view may stream, never a public URL."""

    def url(self, name: str | None) -> str:
        raise NotImplementedError(
            "Private files have no public URL; stream them through their view."
        )


class RangedObject(io.RawIOBase):
    """An object in the bucket read as a seekable file, without a local copy.

    A read starts one ranged GET from the current position and keeps reading
    its body; a seek elsewhere drops it. The paper view answers PDF.js's range
    requests from this, and the extractor copies the paper out with it, so
    neither waits for (nor stores) the whole object first, as S3File does.
    """

    def __init__(self, obj: Any, size: int):
        super().__init__()
        self._obj, self._size, self._pos = obj, size, 0
        self._body: Any = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}
        position = max(0, base[whence] + offset)
        if position != self._pos:
            self._drop()
            self._pos = position
        return position

    def readinto(self, buffer: Any) -> int:
        if self._pos >= self._size or not len(buffer):
            return 0
        if self._body is None:
            self._body = self._obj.get(Range=f"bytes={self._pos}-")["Body"]
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _drop(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._drop()
        super().close()


class PrivateS3Storage(S3Storage):
    """Papers in the bucket: streamed through their view, never a signed link."""

    def _open(self, name: str, mode: str = "rb") -> File:
        if mode not in ("r", "rb"):
            return super()._open(name, mode)
        obj = self.bucket.Object(self._normalize_name(clean_name(name)))
        try:
            size = obj.content_length  # one HEAD request
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise FileNotFoundError(f"No such file in the bucket: {name}") from exc
            raise
        return File(io.BufferedReader(RangedObject(obj, size), READ_CHUNK), name)

    def url(
        self,
        name: str,
        parameters: dict[str, str] | None = None,
        expire: int | None = None,
        http_method: str | None = None,
    ) -> str:
        raise NotImplementedError(
            "Private files have no URL; stream them through their view."
        )


def _options(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    userinfo, _, bucket = parts.netloc.rpartition("@")
    if parts.scheme != "s3" or not bucket or ":" in bucket:
        raise ImproperlyConfigured(
            "STORAGE_URL must look like s3://[key:secret@]bucket[/prefix][?...] "
            f"(scheme {parts.scheme!r}, bucket {bucket!r})."
        )
    credentials: dict[str, str] = {}
    if userinfo:
        key, colon, secret = userinfo.partition(":")
        if not (key and colon and secret):
            raise ImproperlyConfigured("STORAGE_URL's credentials are key:secret@.")
        credentials = {"access_key": unquote(key), "secret_key": unquote(secret)}
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - _QUERY_KEYS)
    if unknown:
        raise ImproperlyConfigured(
            f"STORAGE_URL has unknown options {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_QUERY_KEYS))}."
        )
    acl = query.get("acl", "private")
    if acl not in ("private", "none"):
        raise ImproperlyConfigured("STORAGE_URL's acl is private or none.")
    endpoint = query.get("endpoint_url") or None
    style = query.get("addressing_style") or ("path" if endpoint else None)
    if style not in (None, "path", "virtual", "auto"):
        raise ImproperlyConfigured("STORAGE_URL's addressing_style is path or virtual.")
    return credentials | {
        "bucket_name": bucket,
        "prefix": parts.path.strip("/"),
        "endpoint_url": endpoint,
        "region_name": query.get("region") or None,
        "addressing_style": style,
        # Buckets with ACLs disabled (object ownership enforced) take none.
        "default_acl": None if acl == "none" else "private",
        "signature_version": "s3v4",
        "querystring_auth": True,
        "querystring_expire": SIGNED_URL_SECONDS,
        # Names are unique already (uuids); never replace another file's bytes.
        "file_overwrite": False,
    }


def object_storages(url: str) -> dict[str, dict[str, Any]]:
    """STORAGES entries "default" and "papers" for a STORAGE_URL (see above)."""
    options = _options(url)
    prefix = options.pop("prefix")
    under = f"{prefix}/" if prefix else ""
    return {
        "default": {
            "BACKEND": S3_BACKEND,
            "OPTIONS": options | {"location": f"{under}media"},
        },
        "papers": {
            "BACKEND": PRIVATE_S3_BACKEND,
            "OPTIONS": options | {"location": f"{under}papers"},
        },
    }


def signed_url(
    storage: Storage, name: str, *, filename: str, content_type: str
) -> str | None:
    """A download link valid for SIGNED_URL_SECONDS, or None when the storage
    has none (local files: the view streams them). Call it only after the
    access check: whoever holds the link gets the file until it expires."""
    if not isinstance(storage, S3Storage) or isinstance(storage, PrivateS3Storage):
        return None
    safe = "".join(
        ch for ch in filename if ch.isascii() and (ch.isalnum() or ch in "._-")
    )
    parameters = {
        "ResponseContentDisposition": f'attachment; filename="{safe or "download"}"',
        "ResponseContentType": content_type,
        "ResponseCacheControl": "private, no-store",
    }
    link: str = storage.url(name, parameters=parameters, expire=SIGNED_URL_SECONDS)
    return link


def pdf_download(file: FieldFile, *, signed: bool) -> HttpResponseBase:
    """A stored PDF for a client that passed the access check: a redirect to
    a signed link when ``signed`` and the storage has one, else the bytes."""
    name = str(file.name)  # the callers checked there is a file
    filename = name.rsplit("/", 1)[-1]
    link = None
    if signed:
        link = signed_url(
            file.storage, name, filename=filename, content_type="application/pdf"
        )
    response: HttpResponseBase
    if link is not None:
        response = HttpResponseRedirect(link)
    else:
        response = FileResponse(
            file.open("rb"),
            as_attachment=True,
            filename=filename,
            content_type="application/pdf",
        )
    response["Cache-Control"] = "private, no-store"
    return response
