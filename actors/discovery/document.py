"""The Repertoire discovery document and its "Nublado view", the file every lab gets.

Repertoire answers ``GET <base>/discovery`` with everything a service may want to know about
the site: applications, datasets (Butler configuration, data services), InfluxDB databases,
internal and UI services. Labs may run years-old software, so they get a reduced, stable
subset instead (mounted at ``/etc/nublado/discovery/v1.json``):

* ``datasets``: per dataset only ``butler_config`` (when it has one) and, per data service,
  its ``url`` and the ``url`` of each of its ``versions`` (when it has versions); a dataset
  with neither is an empty object;
* ``influxdb_databases``: per database its ``url``, ``database``, ``schema_registry``,
  ``credentials_url`` and ``local``;
* nothing else: applications, environment name, internal and UI services are left out, and
  so is any key that would be empty.

Parsing is lenient about what it does not read (new fields in newer Repertoire releases are
ignored) and strict about what it does (a dataset that is not an object is an error), so a
malformed answer is refused as a whole and the previous good copy stays in place.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["DiscoveryDocumentError", "nublado_view"]


class DiscoveryDocumentError(Exception):
    """The answer is not a discovery document; the message says which part is wrong."""


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _ApiVersion(_Lenient):
    url: str


class _DataService(_Lenient):
    url: str
    versions: dict[str, _ApiVersion] = Field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        result: dict[str, Any] = {"url": self.url}
        if self.versions:
            result["versions"] = {name: {"url": v.url} for name, v in self.versions.items()}
        return result


class _Dataset(_Lenient):
    butler_config: str | None = None
    services: dict[str, _DataService] = Field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if self.butler_config:
            result["butler_config"] = self.butler_config
        if self.services:
            result["services"] = {name: s.view() for name, s in self.services.items()}
        return result


class _InfluxDatabase(_Lenient):
    url: str
    database: str
    schema_registry: str
    credentials_url: str
    local: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "credentials_url": self.credentials_url,
            "database": self.database,
            "local": self.local,
            "schema_registry": self.schema_registry,
            "url": self.url,
        }


class _Discovery(_Lenient):
    datasets: dict[str, _Dataset] = Field(default_factory=dict)
    influxdb_databases: dict[str, _InfluxDatabase] = Field(default_factory=dict)


def nublado_view(document: object) -> dict[str, Any]:
    """The lab's view of a parsed ``/discovery`` answer; raises :class:`DiscoveryDocumentError`."""
    if not isinstance(document, dict):
        raise DiscoveryDocumentError(
            f"the discovery document must be a JSON object, not {type(document).__name__}"
        )
    try:
        parsed = _Discovery.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise DiscoveryDocumentError(f"{where}: {first['msg']}") from None
    view: dict[str, Any] = {}
    datasets = {name: dataset.view() for name, dataset in parsed.datasets.items()}
    if datasets:
        view["datasets"] = datasets
    influx = {name: db.view() for name, db in parsed.influxdb_databases.items()}
    if influx:
        view["influxdb_databases"] = influx
    return view
