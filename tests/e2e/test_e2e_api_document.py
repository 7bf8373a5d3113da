"""The API document is true to the app: every route the app serves is in it and every
operation in it is a route, for every combination of services and authentication modes; the
HTML page shows all of it without loading anything from elsewhere.

A route added without documenting it (the admin dashboard's, say) fails here until the
operation table in ``web/openapi/operations.py`` describes it.
"""

from __future__ import annotations

from typing import Any

import pytest

from actors.config import ControllerConfig
from tests.e2e.api_document_support import app_routes, document_routes
from tests.e2e.harness import RunningController
from tests.web.conftest import minimal_config_data
from tests.web.trees import small_system
from web.app import create_app
from web.openapi.document import openapi_document


async def _served_document(nublado: RunningController) -> dict[str, Any]:
    async with nublado.client() as anonymous:
        response = await anonymous.get(f"{nublado.prefix}/openapi.json")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


async def test_every_route_of_the_full_app_is_documented_and_nothing_else(
    nublado: RunningController,
) -> None:
    document = await _served_document(nublado)
    assert document["openapi"] == "3.1.0"
    app = create_app(
        nublado.config,
        nublado.controller.system,
        labs=nublado.controller.labs,
        images=nublado.controller.images,
        fileservers=nublado.controller.fileservers,
        fsadmin=nublado.controller.fsadmin,
        migrator=nublado.controller.migrator,
        metrics=nublado.controller.metrics,
    )
    served_http, served_sockets = app_routes(app)
    documented_http, documented_sockets = document_routes(document)
    assert served_http - documented_http == set(), "routes missing from the document"
    assert documented_http - served_http == set(), "documented operations the app lacks"
    assert served_sockets == documented_sockets


@pytest.mark.parametrize("mode", ["ingress", "direct"])
def test_apps_without_optional_services_document_exactly_their_routes(mode: str) -> None:
    data = minimal_config_data(auth={"mode": mode}, pathPrefix="/somewhere/else")
    config = ControllerConfig.model_validate(data)
    app = create_app(config, small_system())
    # No lab, image, fsadmin or migrator service, and no file-server service object either:
    # the file-server routes still exist and answer not_supported.
    document = openapi_document(config, frozenset(), version="0")
    assert app_routes(app) == document_routes(document)
    paths = document["paths"]
    assert "/somewhere/else/fileserver/v1/users" in paths
    assert "/somewhere/else/spawner/v1/labs" not in paths
    # File servers are off: their routes are documented as answering 404 not_supported.
    assert "not_supported" in paths["/files"]["get"]["responses"]["404"]["description"]
    answers = paths["/somewhere/else/fileserver/v1/users"]["get"]["responses"]
    assert "404" in answers
    assert "200" not in answers
    assert ("bearer" in str(document.get("components", {}))) is (mode == "direct")


async def test_the_docs_page_shows_every_operation_and_loads_nothing(
    nublado: RunningController,
) -> None:
    document = await _served_document(nublado)
    async with nublado.client() as anonymous:
        response = await anonymous.get(f"{nublado.prefix}/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    for methods in document["paths"].values():
        for operation in methods.values():
            assert f'id="{operation["operationId"]}"' in page
    for name in document["components"]["schemas"]:
        assert f'id="schema-{name}"' in page
    assert "<script" not in page
    assert 'src="' not in page
    assert "<link" not in page
