"""The HTTP API as the pages call it: in-process, with the logged-in user's token.

Pages never reach past the API into the services: each read and command is the request a
client would send, so rights, kecamatan scope, masking, validation and read-your-writes are
the API's own. The request does not leave the process (httpx over ASGI), so it costs a few
hundred microseconds, not a round trip.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import Any

import httpx
from litestar import Litestar

BASE_URL = "http://jaga.internal"
IN_FLIGHT = "idempotency-key-in-flight"
IN_FLIGHT_WAITS = 20
"""A form submitted twice waits (a quarter second each time) for the first submit's answer."""


class ApiRefused(Exception):
    """The API answered with a problem (RFC 9457): status, type, detail and any extras."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        super().__init__(problem.get("detail") or problem.get("title") or str(status))
        self.status = status
        self.problem = dict(problem)

    @property
    def slug(self) -> str:
        """The problem type without its `urn:jaga:problem:` prefix ("illegal-transition")."""
        return str(self.problem.get("type", "")).rsplit(":", 1)[-1]


def _client(app: Litestar) -> httpx.AsyncClient:
    """One client per app: the transport calls the app itself."""
    client = app.state.get("web_api_client")
    if client is None:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE_URL, timeout=30.0
        )
        app.state["web_api_client"] = client
    return client


async def close_client(app: Litestar) -> None:
    """On shutdown: close the in-process client, if pages were ever served."""
    client = app.state.get("web_api_client")
    if client is not None:
        await client.aclose()


class Api:
    """The API as one user sees it."""

    def __init__(self, app: Litestar, token: str | None) -> None:
        self._client = _client(app)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET `path`; the decoded JSON, or ApiRefused."""
        query = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        response = await self._client.get(path, params=query, headers=self._headers)
        return _answer(response)

    async def post(self, path: str, body: Any = None, *, idempotency_key: str | None = None) -> Any:
        """POST a JSON body to `path`; the decoded JSON (None for 204), or ApiRefused."""
        headers = dict(self._headers)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        response = await self._client.post(path, json=body, headers=headers)
        return _answer(response)

    async def command(self, path: str, body: Any, key: str) -> Any:
        """A form's command, once per form (`key`, made when the form was drawn, is its
        Idempotency-Key): a second submit while the first still runs waits for the first's
        answer instead of being refused."""
        for _ in range(IN_FLIGHT_WAITS):
            try:
                return await self.post(path, body, idempotency_key=key or None)
            except ApiRefused as refused:
                if refused.slug != IN_FLIGHT:
                    raise
                await asyncio.sleep(0.25)
        return await self.post(path, body, idempotency_key=key or None)


async def optional(read: Awaitable[Any], *statuses: int) -> Any:
    """A read a page can do without: None when the API refuses it with one of `statuses`
    (a section the role may not read: 403; a thing not there yet: 404)."""
    try:
        return await read
    except ApiRefused as refused:
        if refused.status in statuses:
            return None
        raise


def _answer(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        if not isinstance(problem, dict):
            problem = {}
        problem.setdefault("status", response.status_code)
        raise ApiRefused(response.status_code, problem)
    if response.status_code == 204 or not response.content:
        return None
    return response.json()
