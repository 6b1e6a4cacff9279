"""
Uploaded files, parsed safely: limited in size and type, read by the :mod:`wfm.io`
readers (pandas' CSV parser or Parquet through pyarrow: never pickle, never eval).

The upload's bytes go to a private temporary folder under a fixed name (the user's
file name is never used as a path), the reader validates them against the data
contract, and the folder is removed; error messages name the uploaded file.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pandas as pd

from wfm import io
from wfm.errors import InputError

#: the largest upload the app parses [bytes]; Streamlit's server.maxUploadSize is the
#: outer limit (.streamlit/config.toml)
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: file types of a history upload (suffix -> kind)
HISTORY_TYPES = {".csv": "csv", ".parquet": "parquet"}
#: history formats an upload may hold (wfm.io)
HISTORY_FORMATS = ("interval", "contacts")
_PARQUET_MAGIC = b"PAR1"


def _display_name(name: str) -> str:
    """The file name without any folder part, for messages."""
    return Path(str(name).replace("\\", "/")).name or "upload"


def check_upload(name: str, data: bytes, *, types: dict[str, str] = HISTORY_TYPES,
                 max_bytes: int = MAX_UPLOAD_BYTES) -> str:
    """
    The suffix of an acceptable upload; raises :class:`InputError` for a file that is
    empty, too large, of another type, or whose bytes do not match its type.
    """
    shown = _display_name(name)
    suffix = Path(shown).suffix.lower()
    if suffix not in types:
        raise InputError(f"{shown}: file type {suffix or '(none)'!r} is not accepted; upload "
                         f"one of {', '.join(types)}")
    if len(data) == 0:
        raise InputError(f"{shown}: the file is empty")
    if len(data) > max_bytes:
        raise InputError(f"{shown}: {len(data) / 1e6:.1f} MB is larger than the limit of "
                         f"{max_bytes / 1e6:.0f} MB; upload a shorter history (for example "
                         "the last 60 weeks) or ingest it with `wfm ingest FILE`")
    if types[suffix] == "parquet":
        if not (data[:4] == _PARQUET_MAGIC and data[-4:] == _PARQUET_MAGIC):
            raise InputError(f"{shown}: not a Parquet file (it lacks the PAR1 markers)")
    else:
        if b"\x00" in data[:65536]:
            raise InputError(f"{shown}: not a text file (it holds NUL bytes); upload a "
                             "UTF-8 CSV file")
    return suffix


def read_history_upload(name: str, data: bytes, *,
                        max_bytes: int = MAX_UPLOAD_BYTES) -> tuple[pd.DataFrame, dict]:
    """
    History from an uploaded CSV or Parquet file (format ``interval`` or ``contacts``
    of :mod:`wfm.io`; a per-contact log is aggregated to hours).

    Parameters
    ----------
    name : str
        The uploaded file's name (only its suffix and, in messages, its base name are
        used).
    data : bytes
        The file's content.
    max_bytes : int
        Upload limit. [bytes]

    Returns
    -------
    (DataFrame, dict)
        Contract ``history`` and metadata: name, format, rows, sha256, interval_min.

    Raises
    ------
    InputError
        Wrong type or size, or content that breaks the contract (the message names the
        file, the line and the column).
    """
    suffix = check_upload(name, data, max_bytes=max_bytes)
    shown = _display_name(name)
    with tempfile.TemporaryDirectory(prefix="wfm-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            fmt = io.guess_format(path)
            if fmt not in HISTORY_FORMATS:
                raise InputError(f"{path}: holds {fmt} records, not history; upload an "
                                 "interval file (interval_start, market, language, channel, "
                                 "contacts, aht_s) or a per-contact log (arrived_at, ...)")
            frame, meta = io.read_history(path, format=fmt, interval_min=60)
        except InputError as exc:
            raise InputError(str(exc).replace(str(path), shown)) from None
        except (ValueError, OSError) as exc:  # a reader's low-level failure
            raise InputError(f"{shown}: cannot be read as {suffix[1:]} ({exc})") from None
    info = {"name": shown, "format": fmt, "rows": len(frame),
            "sha256": hashlib.sha256(data).hexdigest(),
            "interval_min": meta.get("interval_min")}
    return frame, info
