"""`RateTracker`: the process list's rows, with messages/s and reductions/s computed from successive snapshots.

A snapshot's process table holds counters (`ProcessSample.messages_in`, `reductions`) and when
they were read. A rate is the difference between a process's latest sample and the one before it,
over the time from that earlier sample until now (or until the latest, if later): exact for a
process read every tick, falling towards zero for one that stopped moving, and zero once it has
not moved for `RATE_WINDOW` seconds. Rows that did not change are the previous rows' objects, so
the list redraws only what moved, and a tick whose table did not change only recomputes the rows
of the processes still moving. No textual imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from observer.renderables.process_table import ProcessRow
from observer.runtime import Pid
from observer.snapshot import ProcessSample

RATE_WINDOW = 5.0
"""Seconds after its last sample that a process's rate falls to zero (it has not moved since)."""

Awaiting = tuple[Pid, str | None] | None
"""The selected process and what its newest `Inspection` says it awaits (fresher than its table row's)."""


@dataclass(slots=True)
class _Track:
    """What the tracker remembers of one process: its two latest samples, and the row it made last.

    Invariant: `before` is None when the process has not moved between its two latest samples
    (or has been sampled once, or not moved for `RATE_WINDOW`): its rates are zero.
    """

    latest: ProcessSample
    before: ProcessSample | None = None
    row: ProcessRow | None = None


class RateTracker:
    """Turns successive process tables into `ProcessRow`s with rates (one tracker per runtime)."""

    def __init__(self) -> None:
        """Remember nothing yet."""
        self._tracks: dict[Pid, _Track] = {}
        self._table: tuple[ProcessSample, ...] | None = None
        self._rows: tuple[ProcessRow, ...] = ()
        self._moving: dict[Pid, int] = {}  # processes with a nonzero rate, and their index in `_rows`
        self._marks: tuple[frozenset[Pid], Awaiting] = (frozenset(), None)  # what the rows were drawn with

    def rows(self, table: tuple[ProcessSample, ...], now: float, *, names: Mapping[Pid, str],
             suspended: frozenset[Pid] = frozenset(), awaiting: Awaiting = None) -> tuple[ProcessRow, ...]:
        """The rows of `table` as of `now`; the previous tuple itself when nothing shown changed.

        Args:
            table: `Snapshot.processes`.
            now: When the snapshot was taken (its `taken_at`, the clock of the samples).
            names: What to call a process that has no registered name (its child id), by pid.
            suspended: Processes the app suspended (shown as "suspended").
            awaiting: What the selected process awaits, if the app inspected it.
        """
        marks = (suspended, awaiting)
        if table is self._table and marks == self._marks:
            if not self._moving:
                return self._rows
            return self._update(self._moving.items(), now, names, suspended, awaiting)
        if table is not self._table:
            return self._rebuild(table, now, names, suspended, awaiting)
        old_suspended, old_awaiting = self._marks
        marked = set(suspended ^ old_suspended)
        for item in (awaiting, old_awaiting):
            if item is not None:
                marked.add(item[0])
        index_of = {row.pid: index for index, row in enumerate(self._rows)} if marked else {}
        todo = {pid: index_of[pid] for pid in marked if pid in index_of}
        todo.update(self._moving)
        self._marks = marks
        return self._update(todo.items(), now, names, suspended, awaiting)

    def rates(self, pid: Pid, now: float) -> tuple[float, float] | None:
        """The messages/s and reductions/s of `pid` as of `now` (None when it has not been sampled)."""
        track = self._tracks.get(pid)
        return None if track is None else _rates(track, now)

    def _rebuild(self, table: tuple[ProcessSample, ...], now: float, names: Mapping[Pid, str],
                 suspended: frozenset[Pid], awaiting: Awaiting) -> tuple[ProcessRow, ...]:
        tracks = self._tracks
        moving: dict[Pid, int] = {}
        rows: list[ProcessRow] = []
        old = self._rows
        same = len(old) == len(table)
        for index, sample in enumerate(table):
            pid = sample.pid
            track = tracks.get(pid)
            if track is None:
                track = tracks[pid] = _Track(sample)
            elif track.latest is not sample:
                moved = (sample.messages_in != track.latest.messages_in
                         or sample.reductions != track.latest.reductions)
                track.before = track.latest if moved else None
                track.latest = sample
                track.row = None
            row = track.row
            if row is None or track.before is not None or pid in suspended or (
                    awaiting is not None and awaiting[0] is pid) or row.status == "suspended" or (
                    row.awaiting != sample.awaiting):  # drawn with the selection's inspection
                row = self._row_of(track, now, names, suspended, awaiting)
            if track.before is not None:
                moving[pid] = index
            rows.append(row)
            if same and old[index] is not row:
                same = False
        if len(tracks) > len(table):
            alive = {sample.pid for sample in table}
            for pid in [pid for pid in tracks if pid not in alive]:
                del tracks[pid]
        self._table, self._moving, self._marks = table, moving, (suspended, awaiting)
        if not same:
            self._rows = tuple(rows)
        return self._rows

    def _update(self, todo: Iterable[tuple[Pid, int]], now: float, names: Mapping[Pid, str], suspended: frozenset[Pid],
                awaiting: Awaiting) -> tuple[ProcessRow, ...]:
        """Recompute the rows of (pid, index) pairs in `todo`; a new tuple only if one of them changed."""
        rows: list[ProcessRow] | None = None
        for pid, index in list(todo):
            track = self._tracks[pid]
            old = track.row
            row = self._row_of(track, now, names, suspended, awaiting)
            if track.before is None:
                self._moving.pop(pid, None)
            if row is not old:
                if rows is None:
                    rows = list(self._rows)
                rows[index] = row
        if rows is not None:
            self._rows = tuple(rows)
        return self._rows

    @staticmethod
    def _row_of(track: _Track, now: float, names: Mapping[Pid, str], suspended: frozenset[Pid],
                awaiting: Awaiting) -> ProcessRow:
        """The track's row as of `now`: its old object when equal."""
        sample = track.latest
        pid = sample.pid
        if track.before is not None and now - sample.sampled_at >= RATE_WINDOW:
            track.before = None  # it has not moved for a while: its rates are zero from now on
        messages, reductions = _rates(track, now)
        status = "suspended" if pid in suspended else sample.status
        waits = awaiting[1] if awaiting is not None and awaiting[0] is pid else sample.awaiting
        row = ProcessRow(pid, sample.name or names.get(pid, ""), sample.kind, status, sample.mailbox, messages,
                         reductions, sample.restarts, waits)
        old = track.row
        if old is not None and old == row:
            return old
        track.row = row
        return row


def _rates(track: _Track, now: float) -> tuple[float, float]:
    latest, before = track.latest, track.before
    if before is None:
        return 0.0, 0.0
    span = max(now, latest.sampled_at) - before.sampled_at
    if span <= 0:
        return 0.0, 0.0
    return (max(0, latest.messages_in - before.messages_in) / span,
            max(0, latest.reductions - before.reductions) / span)
