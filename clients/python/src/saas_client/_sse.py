"""An incremental ``text/event-stream`` parser (the WHATWG rules), free of I/O.

Bytes go in as they arrive, in chunks of any size (a line or a CRLF may be split between two);
complete events come out. Both clients feed it the same way, so they parse identically.
"""

from __future__ import annotations

from typing import Optional

from .models import ServerSentEvent


class SSEParser:
    def __init__(self) -> None:
        self._buffer = b""
        self._event = ""
        self._data: list[str] = []
        self._last_id: Optional[str] = None
        self._retry: Optional[int] = None

    @property
    def last_event_id(self) -> Optional[str]:
        return self._last_id

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by ``chunk``."""
        self._buffer += chunk
        events: list[ServerSentEvent] = []
        while True:
            line, rest = self._split_line(self._buffer)
            if line is None:
                break
            self._buffer = rest
            event = self._line(line.decode("utf-8", "replace"))
            if event is not None:
                events.append(event)
        return events

    @staticmethod
    def _split_line(buffer: bytes) -> tuple[Optional[bytes], bytes]:
        """The first complete line and what follows it; (None, buffer) when no line is complete.

        A CR at the very end waits for the next byte: it may be the first half of a CRLF.
        """
        for index, byte in enumerate(buffer):
            if byte == 0x0A:
                return buffer[:index], buffer[index + 1 :]
            if byte == 0x0D:
                if index + 1 == len(buffer):
                    return None, buffer
                skip = 2 if buffer[index + 1] == 0x0A else 1
                return buffer[:index], buffer[index + skip :]
        return None, buffer

    def _line(self, line: str) -> Optional[ServerSentEvent]:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry":
            if value.isdigit():
                self._retry = int(value)
        return None

    def _dispatch(self) -> Optional[ServerSentEvent]:
        event_type, data = self._event, self._data
        self._event, self._data = "", []
        if not data:
            return None
        return ServerSentEvent(event=event_type or "message", data="\n".join(data), id=self._last_id, retry=self._retry)
