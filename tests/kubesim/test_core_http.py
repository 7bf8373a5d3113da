"""kubesim's HTTP server speaks HTTP/1.1 the way clients expect."""

from __future__ import annotations

import httpx
import trio

from kubesim.site import Site


async def test_head_gets_the_headers_of_get_without_a_body(kubesim_demo: Site) -> None:
    with trio.fail_after(5):
        async with httpx.AsyncClient(base_url=kubesim_demo.url or "") as client:
            # The fake registry answers an unauthenticated request with 401 and a JSON body.
            got = await client.get("/v2/")
            head = await client.head("/v2/")
            assert head.status_code == got.status_code == 401
            assert got.content
            assert head.content == b""
            assert head.headers["content-length"] == str(len(got.content))
            # The connection survives the HEAD answer: the next request on it works.
            listed = await client.get("/api/v1/namespaces")
            assert listed.status_code == 200
