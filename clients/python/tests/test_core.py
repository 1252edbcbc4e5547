"""The SSE parser, and that the sync and asyncio clients expose the same operations."""

from __future__ import annotations

import inspect

import pytest

from saas_client import AdminClient, AsyncAdminClient, AsyncClient, Client
from saas_client._sse import SSEParser


def parse(*chunks: bytes) -> list[tuple[str, str, str | None]]:
    parser = SSEParser()
    events = []
    for chunk in chunks:
        events += [(e.event, e.data, e.id) for e in parser.feed(chunk)]
    return events


def test_sse_fields_comments_and_multiline_data() -> None:
    text = b": keep-alive\n\nid: 7\nevent: done\ndata: {\"a\":\ndata: 1}\n\ndata: plain\n\n"
    assert parse(text) == [("done", '{"a":\n1}', "7"), ("message", "plain", "7")]


def test_sse_lines_split_anywhere_and_every_line_ending() -> None:
    text = b"id: 1\r\nevent: status\rdata: x\r\n\r\nid: 2\ndata: y\n\n"
    expected = [("status", "x", "1"), ("message", "y", "2")]
    assert parse(text) == expected
    assert parse(*[text[i : i + 1] for i in range(len(text))]) == expected
    # a CR at the end of a chunk, its LF in the next
    assert parse(b"data: z\r", b"\n\r", b"\n") == [("message", "z", None)]


def test_sse_event_without_data_is_not_dispatched_and_ids_with_nul_are_ignored() -> None:
    assert parse(b"event: ping\n\nid: a\0b\ndata: q\n\n") == [("message", "q", None)]


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name != "close"
    }


@pytest.mark.parametrize(("sync", "asyncio"), [(Client, AsyncClient), (AdminClient, AsyncAdminClient)])
def test_sync_and_async_clients_have_the_same_methods_and_signatures(sync: type, asyncio: type) -> None:
    blocking, awaited = public_methods(sync), public_methods(asyncio)
    assert blocking.keys() == awaited.keys()
    for name, signature in blocking.items():
        other = awaited[name]
        assert list(signature.parameters.values()) == list(other.parameters.values()), name
        if "Iterator" in str(signature.return_annotation):
            assert str(other.return_annotation) == "Async" + str(signature.return_annotation), name
        else:
            assert signature.return_annotation == other.return_annotation, name


def test_the_team_client_covers_the_brief() -> None:
    expected = {
        "submit", "submit_document", "submit_batch", "estimate", "get", "wait", "cancel", "delete", "calls",
        "stream", "llm_call", "llm_call_stream", "complete", "create_and_call", "create_and_call_stream",
        "balance", "transactions", "usage", "set_webhook", "get_webhook", "delete_webhook", "webhook_deliveries",
    }  # fmt: skip
    assert expected <= public_methods(Client).keys()
