"""The wire format: lines, envelopes, targets, pids, capped reprs, and snapshot deltas."""

from __future__ import annotations

import json
from typing import Any

import pytest

from observer.journal import Journal, LogNote
from observer.remote import wire
from observer.runtime import Pid, Runtime
from observer.snapshot import Snapshot, SnapshotBuilder

from .trees import tree


def test_a_message_is_one_line_of_json() -> None:
    line = wire.encode({"id": 1, "text": "two\nlines", "µ": "ü"})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert wire.decode(line) == {"id": 1, "text": "two\nlines", "µ": "ü"}


@pytest.mark.parametrize("line", [b"nope\n", b"[1]\n", b"\xff\xfe\n", b"[" * 50_000 + b"\n", b'"text"\n'])
def test_what_is_not_a_json_object_is_a_wire_error(line: bytes) -> None:
    with pytest.raises(wire.WireError):
        wire.decode(line)


@pytest.mark.parametrize("message", [{"op": "hello"}, {"id": True, "op": "hello"}, {"id": 1}, {"id": [1], "op": "x"}])
def test_a_request_needs_an_id_and_an_op(message: dict[str, Any]) -> None:
    with pytest.raises(wire.WireError):
        wire.parse_request(message)


def test_reprs_are_capped_at_2000_characters() -> None:
    assert wire.capped_repr("short") == "'short'"
    long = wire.capped_repr("x" * 10_000)
    assert len(long) == wire.REPR_CAP and long.endswith("more characters]")
    assert wire.reason_text(None) is None and wire.reason_text(RuntimeError("boom")) == "RuntimeError('boom')"


def test_targets() -> None:
    assert wire.target_to_wire(Pid(42)) == {"pid": 42} == wire.target_to_wire("<0.42.0>")
    assert wire.target_to_wire("app/pool/worker_1") == {"name": "app/pool/worker_1"}
    assert wire.target_from_wire({"pid": 42}) == wire.Target(pid=42)
    assert str(wire.target_from_wire({"name": "echo"})) == "echo"
    for bad in (42, {"pid": "42"}, {"name": ""}, {"pid": 1, "name": "x"}, {"pid": True}, None):
        with pytest.raises(wire.WireError):
            wire.target_from_wire(bad)
    with pytest.raises(TypeError):
        wire.target_to_wire("")


def test_one_pid_object_per_id() -> None:
    pids = wire.PidTable()
    first = pids(42)
    assert first is pids(42) and repr(first) == "<0.42.0>" and pids(None) is None
    with pytest.raises(wire.WireError):
        pids("42")


def test_hello_of_another_version_is_refused_with_both_versions() -> None:
    with pytest.raises(wire.WireError, match="wire version 2, this client 1"):
        wire.check_hello({"version": 2})
    with pytest.raises(wire.WireError, match="no 'argv'"):
        wire.check_hello({"version": wire.VERSION, "os_pid": 1})


class Pair:
    """An encoder and a decoder joined by real JSON lines, counting the bytes."""

    def __init__(self) -> None:
        self.encoder = wire.SnapshotEncoder()
        self.decoder = wire.SnapshotDecoder(wire.PidTable())
        self.sent: dict[str, Any] = {}
        self.size = 0

    def send(self, snapshot: Snapshot) -> Snapshot:
        line = wire.encode(self.encoder.encode(snapshot, self.decoder.since))
        self.size = len(line)
        self.sent = json.loads(line)
        return self.decoder.decode(self.sent)


async def test_a_snapshot_crosses_whole_then_as_deltas() -> None:
    async with Runtime() as rt:
        root = await tree(rt)
        journal = Journal()
        rt.subscribe(journal.record)
        builder = SnapshotBuilder(rt, journal, started_at=rt.clock())
        pair = Pair()
        first_local = builder.take(root)
        first = pair.send(first_local)
        assert pair.sent["fresh"] and "root" in pair.sent
        assert first.root is not None and first_local.root is not None
        assert [repr(node.pid) for node in first.root.children] == [
            repr(node.pid) for node in first_local.root.children]
        assert first.root.children[2].children[0].label == "worker_1"

        same = pair.send(builder.take(root))
        assert not pair.sent["fresh"] and "root" not in pair.sent and "log" not in pair.sent
        assert same.root is first.root and same.log is first.log and pair.size < 400

        journal.note(rt.clock(), "one")
        journal.note(rt.clock(), "two")
        noted = pair.send(builder.take(root))
        assert noted.log == (LogNote(noted.log[0].at, "one"), LogNote(noted.log[1].at, "two"))  # type: ignore[union-attr]
        assert [item["text"] for item in pair.sent["log"]] == ["one", "two"]
        journal.note(rt.clock(), "three")
        more = pair.send(builder.take(root))
        assert pair.sent["log"][0] == [0, 2]  # the two unchanged entries, as one run
        assert more.log[:2] == noted.log[:2] and more.log[0] is noted.log[0]
        assert more.log[2] == LogNote(more.log[2].at, "three")  # type: ignore[union-attr]

        worker = rt.whereis("worker_1")
        assert worker is not None
        rt.unregister("worker_1")
        rt.register("worker_1", worker)  # changes the graph, not the tree
        unchanged_tree = pair.send(builder.take(root))
        assert unchanged_tree.generation > more.generation and unchanged_tree.root is first.root

        echo = rt.whereis("echo")
        assert echo is not None
        rt.exit(echo, "kill")
        while (taken := builder.take(root).root) is None or taken.children[0].restarts == 0:
            await _turn()  # the supervisor restarts it a few loop turns after the kill
        changed = pair.send(builder.take(root))
        assert changed.root is not first.root and changed.root is not None
        items = pair.sent["root"][11]
        assert isinstance(items[1], int) and isinstance(items[2], int)  # hog and pool: the previous ones
        assert changed.root.children[1] is first.root.children[1]
        assert changed.root.children[2] is first.root.children[2]
        restarted = changed.root.children[0]
        assert restarted.restarts == 1 and restarted.previous_pid is first.root.children[0].pid

        pair.decoder.forget()  # a client that lost its snapshot gets it whole
        whole = pair.send(builder.take(root))
        assert pair.sent["fresh"] and whole.root is not changed.root and whole.root is not None
        assert whole.root.children[0].pid is changed.root.children[0].pid  # still one pid object per id


def test_a_delta_against_a_snapshot_the_client_does_not_hold_is_an_error() -> None:
    decoder = wire.SnapshotDecoder(wire.PidTable())
    with pytest.raises(wire.WireError):
        decoder.decode({"seq": 2, "fresh": False})
    with pytest.raises(wire.WireError, match="malformed"):
        decoder.decode({"seq": 1, "fresh": True})


async def _turn() -> None:
    import asyncio

    await asyncio.sleep(0)


async def test_the_process_table_crosses_as_runs_of_unchanged_rows() -> None:
    async with Runtime() as rt:
        root = await tree(rt)
        builder = SnapshotBuilder(rt, Journal(), started_at=rt.clock())
        pair = Pair()
        first = pair.send(builder.take(root, table=True))
        local = builder.previous
        assert local is not None and len(first.processes) == len(local.processes) == len(rt.processes())
        assert [(repr(row.pid), row.name, row.kind, row.messages_in, row.awaiting) for row in first.processes] == [
            (repr(row.pid), row.name, row.kind, row.messages_in, row.awaiting) for row in local.processes]
        assert {row.awaiting for row in first.processes} == {"receive"}
        assert first.processes[0].pid is first.root.pid  # type: ignore[union-attr]
        echo = rt.whereis("echo")
        assert echo is not None
        await rt.call(echo, "one")
        second = pair.send(builder.take(root, table=True))
        runs = [item for item in pair.sent["processes"] if len(item) == 2]
        assert runs and sum(count for _, count in runs) == len(second.processes) - 1  # all but echo's row
        changed = [row for row in second.processes if row not in first.processes]
        assert [row.name for row in changed] == ["echo"] and changed[0].messages_in == 1
        kept = [row for row in second.processes if row.name != "echo"]
        assert all(any(row is old for old in first.processes) for row in kept)


async def test_a_crash_cascade_keeps_its_traceback_text() -> None:
    async with Runtime() as rt:
        root = await tree(rt)
        journal = Journal()
        rt.subscribe(journal.record)
        builder = SnapshotBuilder(rt, journal, started_at=rt.clock())
        echo = rt.whereis("echo")
        assert echo is not None
        rt.exit(echo, RuntimeError("boom"))
        while not journal.entries() or getattr(journal.entries()[-1], "outcome", None) != "restarted":
            await _turn()
        snapshot = Pair().send(builder.take(root))
        (cascade,) = snapshot.log
        assert cascade.reason == "RuntimeError('boom')"  # type: ignore[union-attr]
        local = builder.previous
        assert local is not None
        assert cascade.traceback == local.log[0].traceback  # type: ignore[union-attr]


def test_call_errors_cross_as_their_own_kinds_with_the_services_words() -> None:
    from observer.runtime import CallExit, CallTimeout, NotAServer

    for error, kind in ((CallTimeout(Pid(3), ["get", "k"], 0.5), wire.E_CALL_TIMEOUT),
                        (CallExit(Pid(3), RuntimeError("boom")), wire.E_CALL_EXIT),
                        (NotAServer(Pid(3), "a call"), wire.E_NOT_A_SERVER)):
        found_kind, message, details = wire.call_error_to_wire(error)
        assert (found_kind, message) == (kind, str(error))
        answer = json.loads(wire.encode(wire.error(1, found_kind, message, **details)))["error"]
        rebuilt = wire.call_error_from_wire(answer, "cache", ["get", "k"], "call")
        assert type(rebuilt) is type(error) and str(rebuilt) == str(error)
        if isinstance(rebuilt, CallExit):
            assert rebuilt.reason == "RuntimeError('boom')"
        if isinstance(rebuilt, CallTimeout):
            assert (rebuilt.dest, rebuilt.request, rebuilt.timeout) == ("cache", ["get", "k"], 0.5)
    assert wire.call_error_from_wire({"kind": wire.E_NOPROC, "message": "x"}, "cache", None, "call") is None


def test_a_start_failure_crosses_with_the_connections_pids() -> None:
    from observer.remote import StartFailure

    failure = StartFailure(4, 1.5, Pid(2), "web", "listener", "OSError(98)", count=3)
    pids = wire.PidTable()
    back = wire.start_failure_from_wire(json.loads(json.dumps(wire.start_failure_to_wire(failure))), pids)
    assert back == StartFailure(4, 1.5, pids(2), "web", "listener", "OSError(98)", count=3)
    assert back.supervisor is pids(2)
    with pytest.raises(wire.WireError):
        wire.start_failure_from_wire({"seq": 1}, pids)
