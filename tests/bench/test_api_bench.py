"""`jaga bench api` end to end at a tiny size (a generated log, `jaga serve` and the load
generator as child processes; the last line of output is the JSON object with every figure),
and the load generator's pieces: the read/write mix, the percentiles, the HTTP client."""

from __future__ import annotations

import asyncio
import json
import time

import asyncpg
import pytest

from bench.api import Connection, Mix, Run, http_request, main, outcome


@pytest.mark.slow
async def test_it_reports_every_figure_and_leaves_no_database_behind(
    database_url: str, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await _bench_databases(database_url)
    await asyncio.to_thread(main, database_url, redis_url, participants=30, months=3,
                            seed=97, seconds=1, keep_log=False)  # fmt: skip

    last = capsys.readouterr().out.strip().splitlines()[-1]
    report = json.loads(last)
    assert report["bench"] == "api"
    figures = {f["name"]: f for f in report["figures"]}
    assert {"get_participant_rps", "get_participant_p99_ms", "post_payment_rps",
            "post_payment_p99_ms", "mixed_rps", "mixed_p99_ms"} <= set(figures)  # fmt: skip
    get = figures["get_participant_rps"]
    assert get["value"] > 0 and get["baseline"] > 0 and get["target"] == 0.5
    assert get["ratio"] == pytest.approx(get["value"] / get["baseline"], rel=0.01)
    post = figures["post_payment_rps"]
    assert post["value"] > 0 and post["met"] == (post["value"] >= 1000)
    assert figures["post_payment_p99_ms"]["target"] == 50
    assert figures["mixed_rps"]["value"] > 0 and figures["mixed_rps"]["met"] is None
    assert 0 < figures["mixed_p50_ms"]["value"] <= figures["mixed_p99_ms"]["value"]
    # Every NIK was found and every payment accepted.
    assert figures["errors"]["value"] == 0
    assert await _bench_databases(database_url) == before


async def _bench_databases(database_url: str) -> set[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE 'jaga\\_bench\\_%'"
        )
    finally:
        await conn.close()
    return {r[0] for r in rows}


def test_percentiles_and_errors_of_runs_taken_together() -> None:
    first, second = Run(), Run()
    first.latencies = [n / 1000 for n in range(1, 51)]  # 1..50 ms
    second.latencies = [n / 1000 for n in range(51, 101)]  # 51..100 ms
    first.seconds = second.seconds = 2.0
    second.failed(500, b'{"type":"urn:jaga:problem:internal-error"}')
    second.failed(404, b"{}")

    found = outcome([first, second])

    assert (found.requests, found.seconds, found.rps) == (100, 4.0, 25.0)
    assert (found.p50_ms, found.p95_ms, found.p99_ms, found.max_ms) == pytest.approx(
        (50, 95, 99, 100)
    )
    assert found.errors == 2 and found.error.startswith("500 {")


def test_the_mix_holds_reads_at_their_share() -> None:
    mix = Mix(0.85, slack=4)
    # Each side may run ahead of its share by `slack` requests of the other side.
    assert mix.may(read=False)
    mix.writes = 1
    assert not mix.may(read=False)
    mix.reads = 22
    assert mix.may(read=True) and mix.may(read=False)
    mix.reads, mix.writes = 5 * 85, 5 * 15
    assert mix.may(read=True) and mix.may(read=False)
    mix.reads += 40
    assert not mix.may(read=True) and mix.may(read=False)


async def test_a_side_ahead_of_its_share_waits_for_the_other() -> None:
    mix = Mix(0.5, slack=0)
    await mix.done(read=True)
    assert not await mix.turn(read=True, deadline=time.perf_counter() + 0.05)

    waiting = asyncio.create_task(mix.turn(read=True, deadline=time.perf_counter() + 5))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    await mix.done(read=False)
    assert await asyncio.wait_for(waiting, 1)


@pytest.mark.parametrize("closing", [b"connection: close\r\n", b""], ids=["said", "unsaid"])
async def test_the_client_reads_by_content_length_and_reopens_a_closed_connection(
    closing: bytes,
) -> None:
    """The server closes after each answer, saying so or not (as uvicorn ends an idle
    keep-alive connection)."""
    requests: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        requests.append(head + await reader.readexactly(length))
        writer.write(b'HTTP/1.1 201 Created\r\ncontent-length: 11\r\n%s\r\n{"id": "1"}' % closing)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connection = Connection("127.0.0.1", port)
    message = http_request("POST", "/payments", f"Host: 127.0.0.1:{port}\r\n", b'{"a": 1}')
    try:
        assert await connection.request(message) == (201, b'{"id": "1"}')
        await asyncio.sleep(0.05)
        assert await connection.request(message) == (201, b'{"id": "1"}')
    finally:
        connection.close()
        server.close()
        await server.wait_closed()
    assert (
        requests
        == [
            b"POST /payments HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
            b'Content-Length: 8\r\n\r\n{"a": 1}' % port
        ]
        * 2
    )
