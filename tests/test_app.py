"""The HTTP skeleton against real PostgreSQL and Redis: liveness, readiness, problems."""

from __future__ import annotations

import socket
from pathlib import Path

from litestar.testing import AsyncTestClient

from services.app import create_app
from services.config import Settings


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_health_and_ready(migrated_database_url: str, redis_url: str, tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path), migrated_database_url, redis_url)
    async with AsyncTestClient(app) as client:
        health = await client.get("/health")
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}

        ready = await client.get("/ready")
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "ready"
        assert {name: check["status"] for name, check in body["checks"].items()} == {
            "database": "ok",
            "redis": "ok",
            "projections": "ok",
        }


async def test_ready_names_the_failing_check_in_a_problem(
    database_url: str, tmp_path: Path
) -> None:
    dead_redis = f"redis://127.0.0.1:{_closed_port()}/0"
    app = create_app(Settings(data_dir=tmp_path), database_url, dead_redis)
    async with AsyncTestClient(app) as client:
        ready = await client.get("/ready")
    assert ready.status_code == 503
    assert ready.headers["content-type"].startswith("application/problem+json")
    problem = ready.json()
    assert problem["status"] == 503
    assert problem["title"] == "Service Unavailable"
    assert "redis" in problem["detail"]
    assert problem["checks"]["database"]["status"] == "ok"
    assert problem["checks"]["redis"]["status"] == "fail"
    assert problem["checks"]["redis"]["error"]


async def test_unknown_route_is_a_problem_too(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    async with AsyncTestClient(
        create_app(Settings(data_dir=tmp_path), database_url, redis_url)
    ) as client:
        response = await client.get("/nope")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404


async def test_an_unknown_address_is_a_page_under_app_and_a_problem_elsewhere(
    migrated_database_url: str, redis_url: str, tmp_path: Path
) -> None:
    app = create_app(Settings(data_dir=tmp_path), migrated_database_url, redis_url)
    async with AsyncTestClient(app) as client:
        page = await client.get("/app/tidak-ada")
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "Halaman tidak ditemukan." in page.text
        wrong_method = await client.get("/app/logout")
        assert wrong_method.status_code == 405
        assert wrong_method.headers["content-type"].startswith("text/html")
        assert 'lang="id"' in wrong_method.text

        api = await client.get("/tidak-ada")
        assert api.status_code == 404
        assert api.headers["content-type"].startswith("application/problem+json")
        assert api.json()["type"] == "urn:jaga:problem:not-found"
        posted = await client.post("/health")
        assert (posted.status_code, posted.json()["type"]) == (
            405, "urn:jaga:problem:method-not-allowed",
        )  # fmt: skip
