"""The labs' view of Repertoire's discovery document, and the fetch that produces it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from actors.discovery import DiscoveryDocumentError, DiscoveryUnavailableError, DiscoveryView
from actors.discovery.document import nublado_view
from actors.discovery.service import DiscoveryFetchError, fetch_view
from kubesim.repertoire import FakeRepertoire, demo_repertoire
from kubesim.repertoire import install as install_repertoire
from kubesim.site import run_site


def test_the_view_keeps_only_what_labs_read() -> None:
    document: dict[str, Any] = {
        "applications": ["nublado"],
        "environment_name": "x",
        "datasets": {
            "dp1": {
                "butler_config": "https://b/dp1.yaml",
                "description": "d",
                "docs_url": "https://d",
                "services": {"tap": {"url": "https://t", "openapi": "https://o", "new": 1}},
            }
        },
        "influxdb_databases": {},
        "services": {"internal": {"gafaelfawr": {"url": "https://g"}}},
        "future_key": {"ignored": True},
    }
    assert nublado_view(document) == {
        "datasets": {
            "dp1": {
                "butler_config": "https://b/dp1.yaml",
                "services": {"tap": {"url": "https://t"}},
            }
        }
    }


def test_an_empty_document_has_an_empty_view() -> None:
    assert nublado_view({}) == {}


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ([], "JSON object"),
        ({"datasets": []}, "datasets"),
        ({"datasets": {"dp1": {"services": {"tap": {}}}}}, "datasets.dp1.services.tap.url"),
        ({"influxdb_databases": {"efd": {"url": "u"}}}, "influxdb_databases.efd.database"),
    ],
)
def test_a_malformed_document_is_refused_naming_the_bad_part(document: object, where: str) -> None:
    with pytest.raises(DiscoveryDocumentError, match=where.replace(".", r"\.")):
        nublado_view(document)


def test_the_view_refuses_to_be_read_before_a_first_copy() -> None:
    view = DiscoveryView("https://r.example.org/repertoire")
    with pytest.raises(DiscoveryUnavailableError, match=r"r\.example\.org"):
        dict(view)
    view.publish({"datasets": {}}, 1.0)
    assert dict(view) == {"datasets": {}}


async def test_fetch_reads_the_fake_repertoire_and_reports_its_failures() -> None:
    async with (
        run_site(setup=lambda site: install_repertoire(site)) as site,
        httpx.AsyncClient() as http,
    ):
        url = f"{site.url}/repertoire/discovery"
        view = await fetch_view(http, url, 5.0)
        assert view == nublado_view(demo_repertoire())
        assert set(view) == {"datasets", "influxdb_databases"}
        fake = site.mounted("/repertoire")
        assert isinstance(fake, FakeRepertoire)
        fake.failure_status = 503
        with pytest.raises(DiscoveryFetchError, match="HTTP 503"):
            await fetch_view(http, url, 5.0)
        fake.failure_status = None
        fake.document = ["not", "a", "document"]
        with pytest.raises(DiscoveryFetchError, match="not a discovery document"):
            await fetch_view(http, url, 5.0)
        fake.document = {"datasets": {f"d{n}": {"description": "x" * 1000} for n in range(5000)}}
        with pytest.raises(DiscoveryFetchError, match="larger than"):
            await fetch_view(http, url, 5.0)
        fake.document = demo_repertoire()
        fake.delay = 5.0
        with pytest.raises(DiscoveryFetchError, match=r"no answer within 0\.2 s"):
            await fetch_view(http, url, 0.2)
        with pytest.raises(DiscoveryFetchError, match="Connect"):
            await fetch_view(http, "http://127.0.0.1:9/discovery", 5.0)
