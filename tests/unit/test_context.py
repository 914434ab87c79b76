"""The trace context stack: O(1) push and pop, whatever the depth, with the same semantics."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import tracemalloc

from lambda_observe.tracing import _context


def held_bytes(depth: int) -> int:
    """Bytes still allocated while ``depth`` entities are pushed, each token kept (as spans keep them)."""
    base = contextvars.copy_context()

    def nest() -> int:
        entities = [object() for _ in range(depth)]  # allocated before measuring: only the stack counts
        tracemalloc.start()
        try:
            start = tracemalloc.get_traced_memory()[0]
            tokens = [_context.push(e) for e in entities]
            held = tracemalloc.get_traced_memory()[0] - start
        finally:
            tracemalloc.stop()
        assert _context.current() is entities[-1] and len(_context.stack()) == depth
        for token in reversed(tokens):
            _context.reset(token)
        assert _context.current() is None
        return held

    return base.run(nest)


def test_deep_nesting_costs_linear_memory():
    """Pushing 4,000 entities holds at most about twice what 2,000 hold (a stack copied per push
    held quadratic memory: 4,000 levels took 67 MB)."""
    small, large = held_bytes(2_000), held_bytes(4_000)
    assert large < 2.5 * small + 64 * 1024, (small, large)
    assert large < 4_000 * 400, large  # a few small objects per level, not a copy of the stack


def test_tasks_and_threads_see_their_own_top():
    """Concurrent asyncio tasks each see the entity they pushed and their creator's below it; a
    propagated function in a thread sees the caller's stack; nothing leaks back to the caller."""
    outer = object()

    async def task(name: str) -> tuple[object, object]:
        token = _context.push(name)
        await asyncio.sleep(0.01)
        seen = (_context.current(), _context.parent())
        _context.reset(token)
        return seen

    async def main() -> list[tuple[object, object]]:
        return list(await asyncio.gather(task("a"), task("b")))

    def run() -> None:
        token = _context.push(outer)
        assert asyncio.run(main()) == [("a", outer), ("b", outer)]
        seen: list[object] = []
        worker = threading.Thread(target=_context.propagate(lambda: seen.append(_context.current())))
        worker.start()
        worker.join()
        assert seen == [outer]
        assert _context.stack() == (outer,)
        _context.reset(token)
        assert _context.current() is None

    contextvars.copy_context().run(run)


def test_reset_in_another_context_drops_only_the_top():
    """A token reset in another context than it was made in drops the innermost entity there."""

    def run() -> None:
        _context.replace(("root", "handler"))
        token = contextvars.copy_context().run(_context.push, "child")
        _context.push("mine")
        _context.reset(token)  # made elsewhere: ValueError inside, the top is dropped
        assert _context.stack() == ("root", "handler")

    contextvars.copy_context().run(run)
