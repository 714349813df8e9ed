"""Reading ahead on threads of their own, each with its own database connection.

A long computation that reads in batches (a screening round, a claim run) can have the
next batches read by other threads while it works on this one: the database works on
one core while Python works on the other.
"""

import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator

from django.db import connection, connections, transaction

READERS = 2  # threads reading ahead, each on a connection of its own

SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+")


def owns_transaction() -> bool:
    """Whether a transaction begun now would be the connection's own, on PostgreSQL: no
    caller's transaction is open, whose uncommitted rows only this connection sees."""
    return (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and connection.get_autocommit()
    )


def export_snapshot() -> str:
    """The current transaction's snapshot, for other connections to read on
    (PostgreSQL; valid until the transaction ends)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
    return snapshot


def _on_snapshot(snapshot: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")


def read_ahead(
    read: Callable,
    items: Iterable,
    readers: int | None = None,
    *,
    snapshot: str | None = None,
    begin: Callable[[], None] | None = None,
    name: str = "read-ahead",
) -> Iterator:
    """`read(item)` for each of `items`, in order, done by `readers` threads, each on its
    own database connection and one item ahead of the caller. With `snapshot` (from
    export_snapshot) each thread reads in one transaction that sees what the exporting
    transaction saw when it exported it. `begin` runs first in each thread (in that
    transaction). The threads' connections are closed when they end; an error in a
    thread is raised in the caller's."""
    readers = readers or READERS
    if snapshot is not None and not SNAPSHOT_ID.fullmatch(snapshot):
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    handoffs: list[queue.Queue] = [queue.Queue(maxsize=1) for _ in range(readers)]
    stop = threading.Event()

    def hand(handoff, kind, value) -> bool:
        while not stop.is_set():
            try:
                handoff.put((kind, value), timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def read_all(mine, handoff) -> None:
        if snapshot is not None:
            _on_snapshot(snapshot)
        if begin is not None:
            begin()
        for item in mine:
            if not hand(handoff, "item", read(item)):
                return

    def produce(mine, handoff):
        try:
            if snapshot is None:
                read_all(mine, handoff)
            else:
                with transaction.atomic():
                    read_all(mine, handoff)
        except Exception as error:  # raised again in the caller's thread
            hand(handoff, "error", error)
        finally:
            connections.close_all()

    items = list(items)
    threads = [
        threading.Thread(target=produce, args=(items[n::readers], handoffs[n]), name=name)
        for n in range(readers)
    ]
    for thread in threads:
        thread.start()
    try:
        for n in range(len(items)):
            kind, value = handoffs[n % readers].get()
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        for thread in threads:
            thread.join()


class CopyInBatches:
    """Rows COPYed into a table (PostgreSQL) in batches of `size`, each batch its own
    statement, sent by a thread of its own on this thread's connection while the caller
    makes the next rows. The caller must not use the connection until `close`, which
    waits for the last batch and raises any error the thread met. With `immediate`
    (constraint names), those deferred constraints are checked at the end of each batch,
    beside the caller's work, rather than all at commit; they are deferred again after.
    """

    def __init__(self, sql: str, *, size: int = 5000, immediate: tuple[str, ...] = ()):
        self.sql, self.size, self.immediate = sql, size, immediate
        self.rows: list = []
        self.batches: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        connection.ensure_connection()
        self._constraints("IMMEDIATE")
        self.raw = connection.connection  # the caller keeps off it until close()
        self.thread = threading.Thread(target=self._send, name="copy in batches")
        self.thread.start()

    def _constraints(self, mode: str) -> None:
        if self.immediate:
            names = ", ".join(connection.ops.quote_name(name) for name in self.immediate)
            with connection.cursor() as cursor:
                cursor.execute(f"SET CONSTRAINTS {names} {mode}")

    def _send(self) -> None:
        while (batch := self.batches.get()) is not None:
            if self.error is not None:
                continue  # drained, not sent
            try:
                with self.raw.cursor() as cursor, cursor.copy(self.sql) as copy:
                    for row in batch:
                        copy.write_row(row)
            except BaseException as error:  # raised again in the caller's thread
                self.error = error

    def write_row(self, row) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.size:
            self._hand_over()

    def _hand_over(self) -> None:
        if self.error is not None:
            self._finish()
        self.batches.put(self.rows)
        self.rows = []

    def _finish(self) -> None:
        self.batches.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        if self.rows:
            self._hand_over()
        self._finish()
        self._constraints("DEFERRED")

    def __enter__(self) -> "CopyInBatches":
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None:
            self.close()
        elif self.thread.is_alive():
            self.error = self.error or error  # the rest is not sent
            self.batches.put(None)
            self.thread.join()
