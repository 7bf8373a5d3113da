"""fsadmin end to end (``api.md`` §9) and the shared-configuration check (quirk Q2)."""

from __future__ import annotations

import trio

from tests.e2e.harness import running_controller

LAB = {
    "namespacePrefix": "nublado",
    "sizes": [
        {
            "size": "small",
            "resources": {
                "limits": {"cpu": 1.0, "memory": "2Gi"},
                "requests": {"cpu": 0.25, "memory": "512Mi"},
            },
        }
    ],
    "defaultSize": "small",
    "volumes": [
        {"name": "home", "source": {"type": "hostPath", "path": "/home"}},
        {"name": "data", "source": {"type": "hostPath", "path": "/datasets"}},
    ],
    "volumeMounts": [
        {"containerPath": "/home", "volumeName": "home"},
        {"containerPath": "/data", "volumeName": "data", "readOnly": True},
    ],
}


async def test_fsadmin_starts_reports_and_goes_away_and_labs_keep_read_only_mounts() -> None:
    overrides = {"lab": LAB, "fsadmin": {"mountPrefix": "/mnt"}}
    with trio.fail_after(40):
        async with (
            running_controller(config_overrides=overrides) as nublado,
            nublado.client("admin") as admin,
            nublado.client("alice") as alice,
        ):
            url = f"{nublado.prefix}/fsadmin/v1/service"
            absent = await admin.get(url)
            assert absent.status_code == 404
            assert absent.json() == {"detail": [{"msg": "nublado/fsadmin", "type": "not_found"}]}
            assert (await admin.post(url, json={"start": False})).status_code == 422
            assert (await admin.post(url)).status_code == 422
            created = await admin.post(url, json={"start": True})
            assert created.status_code == 200, created.text
            start_time = created.json()["start_time"]
            assert start_time.endswith("Z")
            assert (await admin.post(url, json={"start": True})).json() == {
                "start_time": start_time
            }
            assert (await admin.get(url)).json() == {"start_time": start_time}
            pod = nublado.site.store.get(nublado.site.store.resource("pods"), "nublado", "fsadmin")
            mounts = pod["spec"]["containers"][0]["volumeMounts"]
            assert [(m["mountPath"], m["readOnly"]) for m in mounts] == [
                ("/mnt/home", False),
                ("/mnt/data", False),
            ]

            # A lab spawned after fsadmin still mounts /data read-only (quirk Q2).
            body = {
                "options": {"image_dropdown": [nublado.image()], "size": ["small"]},
                "env": {"JUPYTERHUB_SERVICE_PREFIX": "/nb/user/alice/"},
            }
            created_lab = await alice.post(
                f"{nublado.prefix}/spawner/v1/labs/alice/create", json=body
            )
            assert created_lab.status_code == 201, created_lab.text
            events = await alice.get(f"{nublado.prefix}/spawner/v1/labs/alice/events")
            assert "event: complete" in events.text
            lab = nublado.site.store.get(
                nublado.site.store.resource("pods"), "nublado-alice", "alice-nb"
            )
            lab_mounts = {
                m["mountPath"]: m.get("readOnly")
                for m in lab["spec"]["containers"][0]["volumeMounts"]
            }
            assert lab_mounts["/data"] is True
            assert lab_mounts["/home"] is False

            assert (await admin.delete(url)).status_code == 204
            assert (await admin.get(url)).status_code == 404
            assert (await admin.delete(url)).status_code == 204
