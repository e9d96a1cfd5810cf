"""TFRecord framing and CRC-32C, read and written without TensorFlow."""
from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

# -- CRC-32C ---------------------------------------------------------------------------------
_CRC_POLY = 0x82F63B78  # Castagnoli, reflected
_MASK_DELTA = 0xA282EAD8


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC_POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()
_CRC_TABLE_NP = np.array(_CRC_TABLE, dtype=np.uint32)


def _pure_crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _find_crc_backend():
    """A compiled CRC-32C when one is installed (much faster on the 500 MB official file)."""
    try:
        import crc32c as package  # ICRAR's crc32c
        return "crc32c", package.crc32c
    except ImportError:
        pass
    try:
        import google_crc32c as package
        return "google-crc32c", package.value
    except ImportError:
        return "numpy", None


#: Which CRC-32C implementation is in use: 'crc32c', 'google-crc32c' or 'numpy' (this
#: module's own: pure Python per record, vectorised over records when reading files).
CRC_BACKEND, _compiled_crc32c = _find_crc_backend()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``, as TFRecord uses it (unmasked)."""
    if _compiled_crc32c is not None:
        return int(_compiled_crc32c(bytes(data)))
    return _pure_crc32c(data)


#: Records longer than this (bytes) are checksummed one by one (see :func:`_crc32c_many`).
_LONG_RECORD = 1 << 14


def _crc32c_many(chunks: Sequence[bytes]) -> np.ndarray:
    """CRC-32C of many byte strings at once (uint32 array).

    The table-driven update runs one byte position at a time over all strings together,
    longest first, so that the strings still running at position p are a prefix of the order.
    """
    if _compiled_crc32c is not None or not chunks:
        return np.array([crc32c(c) for c in chunks], dtype=np.uint32)
    lengths = np.fromiter(map(len, chunks), dtype=np.int64, count=len(chunks))
    long = lengths > _LONG_RECORD
    if long.any():
        # One numpy step per byte position pays off over many short records, not for one
        # long one (a megabyte would take a million steps): those go byte by byte instead.
        out = np.empty(len(chunks), dtype=np.uint32)
        out[long] = [_pure_crc32c(chunks[i]) for i in np.flatnonzero(long).tolist()]
        short = np.flatnonzero(~long)
        out[short] = _crc32c_many([chunks[i] for i in short.tolist()])
        return out
    flat = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    order = np.argsort(-lengths, kind="stable")
    starts, lengths = starts[order], lengths[order]
    ascending = lengths[::-1]
    running = len(chunks) - np.searchsorted(ascending, np.arange(int(lengths[0])), side="right")
    crc = np.full(len(chunks), 0xFFFFFFFF, dtype=np.uint32)
    for position, count in enumerate(running.tolist()):
        current = crc[:count]
        byte = flat[starts[:count] + position]
        crc[:count] = _CRC_TABLE_NP[(current ^ byte) & 0xFF] ^ (current >> 8)
    out = np.empty_like(crc)
    out[order] = crc ^ np.uint32(0xFFFFFFFF)
    return out


def masked_crc32c(data: bytes) -> int:
    """The masked CRC-32C that TFRecord stores: rotate right by 15 bits, add a constant."""
    return _mask(crc32c(data))


def _mask(crc: int | np.ndarray):
    if isinstance(crc, np.ndarray):
        crc = crc.astype(np.uint64)
        return ((((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF).astype(np.uint32)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


# -- TFRecord framing ------------------------------------------------------------------------
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
_FRAME_BYTES = _HEADER.size + _FOOTER.size
_CHECK_BATCH_RECORDS = 8192
_CHECK_BATCH_BYTES = 16 << 20


def _damaged(path: Path, number: int, offset: int, what: str) -> ValueError:
    return ValueError(f"{path}: record {number} at byte offset {offset}: {what}. The file is "
                      "damaged (truncated or corrupted): download it again.")


def iter_tfrecord(path: str | os.PathLike, check_crc: bool = True) -> Iterator[bytes]:
    """Yield the data of every record of a TFRecord file, in order.

    With ``check_crc`` the checksums of each length and data are verified; a mismatch, or a
    file that ends inside a record, raises ``ValueError`` naming the file, the record number
    and its byte offset (without ``check_crc`` only the framing is checked: a damaged length
    is then caught when it runs past the end of the file, damaged data not at all).
    """
    for _, _, data in iter_tfrecord_frames(path, check_crc=check_crc):
        yield data


def iter_tfrecord_frames(path: str | os.PathLike,
                         check_crc: bool = True) -> Iterator[tuple[int, int, bytes]]:
    """:func:`iter_tfrecord` with each record's number and byte offset: ``(number, offset,
    data)``, so that a reader can say where in the file a record it refuses lies."""
    path = Path(path)
    size = path.stat().st_size
    pending: list[tuple[int, int, bytes, int]] = []  # (number, offset, data, stored crc)
    pending_bytes = 0
    number = offset = 0
    with path.open("rb") as stream:
        while True:
            header = stream.read(_HEADER.size)
            if not header:
                break
            problem = None
            if len(header) < _HEADER.size:
                problem = (f"the file ends inside the record header ({len(header)} of "
                           f"{_HEADER.size} bytes)")
            else:
                length, length_crc = _HEADER.unpack(header)
                if check_crc and masked_crc32c(header[:8]) != length_crc:
                    problem = "the checksum of the record length does not match"
                elif offset + _FRAME_BYTES + length > size:
                    problem = (f"the record claims {length} data bytes but the file ends "
                               f"after {size} bytes")
            if problem is not None:
                # Records read before this one are checked first: the error names the first
                # damaged record of the file.
                yield from _verified(path, pending)
                raise _damaged(path, number, offset, problem)
            data = stream.read(length)
            (data_crc,) = _FOOTER.unpack(stream.read(_FOOTER.size))
            if check_crc:
                pending.append((number, offset, data, data_crc))
                pending_bytes += length
                if len(pending) >= _CHECK_BATCH_RECORDS or pending_bytes >= _CHECK_BATCH_BYTES:
                    yield from _verified(path, pending)
                    pending, pending_bytes = [], 0
            else:
                yield number, offset, data
            offset += _FRAME_BYTES + length
            number += 1
    yield from _verified(path, pending)


def _verified(path: Path, pending: list[tuple[int, int, bytes, int]]
              ) -> Iterator[tuple[int, int, bytes]]:
    """``(number, offset, data)`` of ``pending`` records, checked in one batch; the records
    before the first bad one are still yielded, in order, before the error."""
    if not pending:
        return
    computed = _mask(_crc32c_many([data for _, _, data, _ in pending]))
    stored = np.array([crc for _, _, _, crc in pending], dtype=np.uint32)
    bad = np.flatnonzero(computed != stored)
    first_bad = int(bad[0]) if len(bad) else len(pending)
    for number, offset, data, _ in pending[:first_bad]:
        yield number, offset, data
    if len(bad):
        number, offset, _, _ = pending[first_bad]
        raise _damaged(path, number, offset, "the checksum of the record data does not match")


def write_tfrecord(path: str | os.PathLike, records: Iterable[bytes]) -> int:
    """Write ``records`` (byte strings) as a TFRecord file; returns how many were written."""
    path = Path(path)
    count = 0
    with path.open("wb") as stream:
        batch: list[bytes] = []

        def flush() -> None:
            crcs = _mask(_crc32c_many(batch)).tolist()
            for data, data_crc in zip(batch, crcs, strict=True):
                length = struct.pack("<Q", len(data))
                stream.write(length + _FOOTER.pack(masked_crc32c(length)))
                stream.write(data + _FOOTER.pack(data_crc))
            batch.clear()

        for data in records:
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"record {count} must be bytes, got {type(data).__name__}")
            batch.append(bytes(data))
            count += 1
            if len(batch) >= _CHECK_BATCH_RECORDS:
                flush()
        flush()
    return count


