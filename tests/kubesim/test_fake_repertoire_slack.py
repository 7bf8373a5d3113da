"""kubesim's fake Repertoire and fake Slack webhook, over HTTP as any client sees them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio

from kubesim.demo import install_all
from kubesim.repertoire import demo_repertoire
from kubesim.site import Site, SiteConfig, run_site


async def test_the_demo_site_serves_a_realistic_discovery_document(kubesim_demo: Site) -> None:
    async with httpx.AsyncClient(base_url=str(kubesim_demo.url)) as client:
        answer = await client.get("/repertoire/discovery")
        assert answer.status_code == 200
        document = answer.json()
        assert document == demo_repertoire()
        assert document["datasets"]["dp02"]["butler_config"].endswith("/dp02/butler.yaml")
        assert document["datasets"]["dp02"]["services"]["cutout"]["versions"]
        assert set(document["influxdb_databases"]) == {"efd", "usdf_efd"}
        assert "gafaelfawr" in document["services"]["internal"]
        assert "nublado" in document["services"]["ui"]
        assert (await client.get("/repertoire/other")).status_code == 404
        assert (await client.post("/repertoire/discovery")).status_code == 405


async def test_the_document_comes_from_the_site_configuration_or_a_file(tmp_path: Path) -> None:
    path = tmp_path / "repertoire.yaml"
    path.write_text("datasets: {dp9: {butler_config: https://x/dp9.yaml}}\n")
    config = SiteConfig(controllers={"repertoire": {"file": str(path)}})
    async with (
        run_site(config, setup=install_all) as site,
        httpx.AsyncClient(base_url=str(site.url)) as client,
    ):
        document = (await client.get("/repertoire/discovery")).json()
    assert document == {"datasets": {"dp9": {"butler_config": "https://x/dp9.yaml"}}}


async def test_parts_can_be_disabled_and_bad_sections_are_refused() -> None:
    config = SiteConfig(controllers={"disabled": ["repertoire", "slack"]})
    async with run_site(config, setup=install_all) as site:
        assert site.mounted("/repertoire") is None
        assert site.mounted("/slack") is None
    with pytest.raises(ValueError, match="datasets must be a mapping"):
        install_all(Site(SiteConfig(controllers={"repertoire": {"datasets": []}})))
    with pytest.raises(ValueError, match="slack section takes no settings"):
        install_all(Site(SiteConfig(controllers={"slack": {"delay": 1}})))


async def test_the_webhook_records_posts_and_can_be_made_slow_or_failing(
    kubesim_demo: Site,
) -> None:
    async with httpx.AsyncClient(base_url=str(kubesim_demo.url)) as client:
        url = "/slack/services/T0/B0/x"
        ok = await client.post(url, json={"text": "hello"})
        assert (ok.status_code, ok.text) == (200, "ok")
        assert (await client.post(url, json={"other": 1})).text == "no_text"
        assert (await client.post(url, content=b"[")).text == "invalid_payload"
        posts = (await client.get("/slack/posts")).json()
        assert posts == [{"path": url, "body": {"text": "hello"}}]

        fault = {"status": 429, "retry_after": 7}
        assert (await client.put("/slack/faults", json=fault)).status_code == 200
        limited = await client.post(url, json={"text": "again"})
        assert (limited.status_code, limited.headers["retry-after"]) == (429, "7")
        assert (await client.put("/slack/faults", json={"delay": -1})).status_code == 400

        await client.put("/slack/faults", json={"delay": 5})
        with trio.move_on_after(0.5) as waited:
            await client.post(url, json={"text": "slow"})
        assert waited.cancelled_caught  # held by the fault, not answered
        await client.put("/slack/faults", json={})
        assert (await client.delete("/slack/posts")).json() == []
