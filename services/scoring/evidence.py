"""Evidence files (tài liệu kiểm chứng) a unit attaches to a leaf: what is accepted, judged on the bytes.

A file's name says nothing reliable about it, so its type is read from its first bytes (the "magic"): PDF,
PNG, JPEG, and the two Office Open XML kinds, which are ZIP archives told apart by the part they must contain
(``word/document.xml`` for DOCX, ``xl/workbook.xml`` for XLSX). A file whose extension names another type
than its content (a PNG called ``bao-cao.pdf``, a text file called ``.docx``) is refused: the council would open
it as what its name says. Empty files and files above the limit are refused too. Messages are Vietnamese and
name the file and the field (``files``), as the form shows them.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import Any

from services.scoring.season import SeasonError
from shared.blobs import sha256_of

DEFAULT_MAX_BYTES = 8 * 1024 * 1024  # an RPC message carries the file whole: keep it well under the broker's limit

MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jpeg": "image/jpeg",
    "png": "image/png",
}
TYPE_TITLES = {"pdf": "PDF", "docx": "Word (DOCX)", "xlsx": "Excel (XLSX)", "jpeg": "ảnh JPEG", "png": "ảnh PNG"}
EXTENSIONS = {".pdf": "pdf", ".docx": "docx", ".xlsx": "xlsx", ".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png"}


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    kind: str  # a key of MEDIA_TYPES
    media_type: str
    size: int
    sha256: str
    data: bytes


def detect(data: bytes) -> str | None:
    """The accepted type the bytes are, or None."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return None
        if "[Content_Types].xml" in names:
            if "word/document.xml" in names:
                return "docx"
            if "xl/workbook.xml" in names:
                return "xlsx"
    return None


def clean_filename(name: str) -> str:
    """The name as kept and offered back: NFC, no path, no control characters, at most 200 characters."""
    name = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", name).strip(" .")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[:190]}.{ext}" if dot and len(ext) <= 8 else name[:200]
    return name


def check_file(filename: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, field: str = "files") -> CheckedFile:
    """Accept one uploaded file or raise SeasonError saying which file and why."""
    name = clean_filename(filename)
    if not name:
        raise SeasonError(field, "Tệp đính kèm không có tên.")
    if not isinstance(data, bytes | bytearray):
        raise SeasonError(field, f"Tệp “{name}”: nội dung không đọc được.")
    data = bytes(data)
    if not data:
        raise SeasonError(field, f"Tệp “{name}” rỗng (0 byte): hãy chọn lại tệp tài liệu kiểm chứng.")
    if len(data) > max_bytes:
        raise SeasonError(field, f"Tệp “{name}” có dung lượng {_mb(len(data))}, vượt giới hạn {_mb(max_bytes)} "
                                 "cho mỗi tệp.")
    kind = detect(data)
    accepted = "PDF, DOCX, XLSX, JPEG hoặc PNG"
    if kind is None:
        raise SeasonError(field, f"Tệp “{name}”: nội dung không phải {accepted} (kiểm tra theo nội dung tệp, "
                                 "không theo tên).")
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    named = EXTENSIONS.get(extension)
    if named is None:
        raise SeasonError(field, f"Tệp “{name}”: phần mở rộng “{extension or '(không có)'}” không được nhận; "
                                 f"chỉ nhận {accepted}.")
    if named != kind:
        raise SeasonError(field, f"Tệp “{name}” mang tên tệp {TYPE_TITLES[named]} nhưng nội dung là "
                                 f"{TYPE_TITLES[kind]}: hãy đổi đúng tên hoặc chọn đúng tệp.")
    return CheckedFile(name, kind, MEDIA_TYPES[kind], len(data), sha256_of(data), data)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


def decode_uploads(files: Any) -> list[tuple[str, bytes]]:
    """Files as they cross RPC (``[{"filename": ..., "data": base64}]``) → (name, bytes); bad ones refused."""
    if not files:
        return []
    if not isinstance(files, list):
        raise SeasonError("files", "Danh sách tệp không hợp lệ.")
    decoded = []
    for i, item in enumerate(files):
        name = str((item or {}).get("filename") or "") if isinstance(item, dict) else ""
        try:
            data = base64.b64decode(str(item.get("data") or ""), validate=True) if isinstance(item, dict) else None
        except (binascii.Error, ValueError):
            data = None
        if data is None:
            raise SeasonError("files", f"Tệp thứ {i + 1} ({name or 'không tên'}) không đọc được.")
        decoded.append((name, data))
    return decoded


def encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
