"""Limits on uploaded files, and the one way Doudi reads an uploaded CSV or XLSX.

A file a user uploads must never take the worker down with it, nor be half-read into the
database. So, in this order:

1. **Size before reading.** :class:`UploadField` refuses a file larger than its limit from the
   size the upload reports, before a byte of it is read (``UPLOAD_MAX_BYTES``; bank return files
   ``RETURN_FILE_MAX_BYTES``, which must hold a city's million transfers).
2. **Expansion before parsing.** An XLSX is a zip archive: a 1.5 MB file may expand to 1.5 GB of
   XML, and openpyxl keeps every shared string in memory even in read-only mode. The archive's
   directory is read first and the file refused when its parts add up to more than
   ``max_expanded_bytes`` (``zipfile`` never inflates a part past the size its directory
   declares, so the declared sizes bound what parsing can produce). A damaged archive
   (``BadZipFile``) is refused as unreadable.
3. **Streaming, with row and cell limits while reading.** XLSX is read in openpyxl's read-only
   (streaming) mode, CSV row by row from the bytes; more rows or columns than the limits, or a
   cell longer than ``max_cell_chars`` (CSV's own 131,072-character field limit included), stop
   the reading with a message naming the row.

Every refusal is an :class:`UploadError`: a 400 with a message on the ``file`` field. Callers
validate the whole file before writing anything, so a refused file writes nothing.
"""

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.exceptions import DomainError


class UploadError(DomainError):
    """The uploaded file cannot be read as it is: 400 on ``file``."""

    def __init__(self, message, *, code: str = "invalid_file"):
        super().__init__(message, field="file", code=code)


@dataclass(frozen=True)
class Limits:
    max_rows: int
    max_columns: int = 64
    max_cell_chars: int = 2_000
    max_expanded_bytes: int = 200 * 1024 * 1024


def max_upload_bytes() -> int:
    return settings.UPLOAD_MAX_BYTES


def too_large(size: int, limit: int) -> str | None:
    """Why a file of ``size`` bytes is refused under ``limit``, or None when it fits: the one
    message of the API's :class:`UploadField` and the pages' upload fields."""
    if size <= limit:
        return None
    return _("文件过大(%(size)s)，上限为%(limit)s。") % {
        "size": filesizeformat(size),
        "limit": filesizeformat(limit),
    }


class UploadField(serializers.FileField):
    """A file upload refused, from its reported size, when larger than ``max_bytes``."""

    def __init__(self, *, max_bytes=max_upload_bytes, **kwargs):
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        upload = super().to_internal_value(data)
        limit = self.max_bytes() if callable(self.max_bytes) else self.max_bytes
        message = too_large(upload.size, limit)
        if message:
            raise serializers.ValidationError(message, code="file_too_large")
        return upload


def read_csv(content: bytes, limits: Limits, encodings=("utf-8-sig",)) -> Iterator[list[str]]:
    """The rows of a CSV file, decoded with the first of ``encodings`` the whole file decodes
    with, read row by row within ``limits``."""
    encoding = _encoding_of(content, encodings)
    text = io.TextIOWrapper(io.BytesIO(content), encoding=encoding, newline="")
    reader = csv.reader(text)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise UploadError(
                _("第%(row)s行无法读取：单元格过长(超过%(max)s个字符)或引号不成对。")
                % {"row": reader.line_num, "max": limits.max_cell_chars},
                code="unreadable_row",
            ) from None
        yield _checked(row, reader.line_num, limits)


def _encoding_of(content: bytes, encodings) -> str:
    for encoding in encodings:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for start in range(0, len(content), 1 << 20):
                decoder.decode(content[start : start + (1 << 20)])
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise UploadError(_("无法识别文件编码，请另存为UTF-8编码的CSV。"), code="encoding")


def read_xlsx(content: bytes, limits: Limits, *, sheets: str = "first") -> Iterator[list]:
    """The rows (cell values) of an XLSX file's first sheet (``sheets="all"``: of every sheet
    in turn), streamed, within ``limits``."""
    from openpyxl import load_workbook

    check_expansion(content, limits)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a damaged or foreign file
        raise UploadError(_("无法读取该Excel文件(文件已损坏或不是XLSX)。"), code="unreadable")
    try:
        chosen = workbook.worksheets if sheets == "all" else workbook.worksheets[:1]
        number = 0
        for sheet in chosen:
            rows = sheet.iter_rows(max_col=limits.max_columns, values_only=True)
            while True:
                try:
                    row = next(rows)
                except StopIteration:
                    break
                except Exception:
                    raise UploadError(
                        _("第%(row)s行之后的内容无法读取(文件已损坏)。") % {"row": number},
                        code="unreadable",
                    ) from None
                number += 1
                yield _checked(list(row), number, limits)
    finally:
        workbook.close()


def check_expansion(content: bytes, limits: Limits) -> None:
    """Refuse an archive that is damaged or expands past ``limits.max_expanded_bytes``."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise UploadError(
            _("无法读取该Excel文件(文件已损坏或不是XLSX)。"), code="unreadable"
        ) from None
    if expanded > limits.max_expanded_bytes:
        raise UploadError(
            _("该Excel文件解压后达%(size)s，超过上限%(limit)s，请分批上传。")
            % {
                "size": filesizeformat(expanded),
                "limit": filesizeformat(limits.max_expanded_bytes),
            },
            code="too_large_expanded",
        )


def _checked(row: list, number: int, limits: Limits) -> list:
    if number > limits.max_rows:
        raise UploadError(
            _("文件超过%(max)s行，请分批上传。") % {"max": limits.max_rows}, code="too_many_rows"
        )
    if len(row) > limits.max_columns:
        raise UploadError(
            _("第%(row)s行超过%(max)s列。") % {"row": number, "max": limits.max_columns},
            code="too_many_columns",
        )
    for value in row:
        if isinstance(value, str) and len(value) > limits.max_cell_chars:
            raise UploadError(
                _("第%(row)s行有单元格超过%(max)s个字符。")
                % {"row": number, "max": limits.max_cell_chars},
                code="cell_too_long",
            )
    return row
