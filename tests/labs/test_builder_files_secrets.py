"""Configured files (§2.6), the user Secret (§2.7) and the pull secret copy (§2.8)."""

from __future__ import annotations

import base64

import pytest
from kubernetes.client import V1ObjectMeta, V1Secret

from actors.labs.builder import (
    FileKeyError,
    MissingSecretError,
    build_lab,
    check_lab_config,
    required_source_secrets,
)
from actors.labs.builder.files import file_key

from .examples import (
    BUTLER_SECRET_B64,
    DISCOVERY,
    build_example,
    dump,
    make_config,
    source_secrets,
    wombat_request,
    worked_example_data,
)


def secret(name: str, **data: str) -> V1Secret:
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    return V1Secret(metadata=V1ObjectMeta(name=name), type="Opaque", data=encoded)


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/opt/lsst/software/jupyterlab/lsst_dask.yml", "lsst-dask-yml"),
        ("/etc/jupyter/jupyter_server_config.json", "jupyter-server-config-json"),
        ("/etc/motd", "motd"),
    ],
)
def test_file_key_is_the_basename_with_dashes(path: str, key: str) -> None:
    assert file_key(path) == key


def test_each_file_is_a_volume_and_a_mount_in_config_order() -> None:
    data = worked_example_data()
    data["lab"]["files"] = {"/etc/b_file.txt": "b\n", "/srv/a.cfg": "a\n"}
    objects = build_example(config=make_config(data))
    files = objects.files_config_map.data
    assert files is not None
    assert list(files) == ["discovery-v1-json", "b-file-txt", "a-cfg"]
    assert files["b-file-txt"] == "b\n"
    assert files["a-cfg"] == "a\n"
    pod = dump(objects.pod)
    volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}
    assert volumes["b-file-txt"]["configMap"] == {
        "name": "wombat-nb-files",
        "items": [{"key": "b-file-txt", "path": "b_file.txt", "mode": 0o644}],
    }
    mounts = pod["spec"]["containers"][0]["volumeMounts"]
    file_mounts = [
        (m["mountPath"], m["subPath"], m["readOnly"])
        for m in mounts
        if m["name"] in ("b-file-txt", "a-cfg")
    ]
    assert file_mounts == [("/etc/b_file.txt", "b_file.txt", True), ("/srv/a.cfg", "a.cfg", True)]


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"/a/x_y.conf": "1", "/b/x.y_conf": "2"}, "both map to the key x-y-conf"),
        ({"/etc/Motd": "1"}, "not a valid Kubernetes name"),
        ({"/etc/home": "1"}, "already a lab volume name"),
        ({"/etc/passwd.d/tmp": "1"}, "already a lab volume name"),
    ],
)
def test_file_keys_that_cannot_work_are_refused(files: dict[str, str], problem: str) -> None:
    data = worked_example_data()
    data["lab"]["files"] = files
    with pytest.raises(FileKeyError, match=problem):
        build_example(config=make_config(data))


def test_required_source_secrets_are_sorted_and_distinct() -> None:
    data = worked_example_data()
    data["lab"]["secrets"] = [
        {"secretName": "zeta", "secretKey": "z1"},
        {"secretName": "alpha", "secretKey": "a1"},
        {"secretName": "zeta", "secretKey": "z2"},
    ]
    assert required_source_secrets(make_config(data)) == ["alpha", "zeta"]


def test_secret_values_are_copied_verbatim_with_the_token() -> None:
    data = worked_example_data()
    data["lab"]["secrets"] = [
        {"secretName": "zeta", "secretKey": "z1", "env": "Z_ONE"},
        {"secretName": "alpha", "secretKey": "a1"},
    ]
    sources = {"zeta": secret("zeta", z1="one", other="x"), "alpha": secret("alpha", a1="two")}
    objects = build_example(config=make_config(data), secrets=sources)
    assert objects.secret.data == {
        "z1": base64.b64encode(b"one").decode(),
        "a1": base64.b64encode(b"two").decode(),
        "token": base64.b64encode(b"gt-wombat-notebook-token").decode(),
    }
    assert objects.secret.type == "Opaque"
    assert objects.secret.immutable is True
    # Only entries with env become variables; only entries with path become mounts.
    notebook = dump(objects.pod)["spec"]["containers"][0]
    env_names = [variable["name"] for variable in notebook["env"]]
    assert env_names == [
        "ACCESS_TOKEN",
        "NUBLADO_TOKEN",
        "Z_ONE",
        "KUBERNETES_NODE_NAME",
        "K8S_NODE_NAME",
    ]
    secret_mounts = [m for m in notebook["volumeMounts"] if m["name"] == "secrets"]
    assert secret_mounts == [
        {"name": "secrets", "mountPath": "/etc/nublado/secrets", "readOnly": True}
    ]


def test_missing_source_secret_is_named() -> None:
    with pytest.raises(MissingSecretError) as caught:
        build_example(secrets={})
    assert caught.value.secret_name == "nublado-lab-secret"
    assert caught.value.key is None
    assert "nublado-lab-secret" in str(caught.value)


def test_missing_key_is_named_without_revealing_values() -> None:
    sources = {"nublado-lab-secret": secret("nublado-lab-secret", other="hunter2")}
    with pytest.raises(MissingSecretError) as caught:
        build_example(secrets=sources)
    message = str(caught.value)
    assert "nublado-lab-secret" in message
    assert "butler-secret" in message
    assert "hunter2" not in message
    assert base64.b64encode(b"hunter2").decode() not in message


def test_extra_source_secrets_are_ignored() -> None:
    sources = source_secrets() | {"unrelated": secret("unrelated", k="v")}
    data = build_example(secrets=sources).secret.data
    assert data == {"butler-secret": BUTLER_SECRET_B64, "token": data["token"]}


def test_no_pull_secret_configured_means_no_copy_and_no_reference() -> None:
    data = worked_example_data()
    del data["lab"]["pullSecret"]
    objects = build_example(config=make_config(data))
    assert objects.pull_secret is None
    assert objects.pod.spec is not None
    assert objects.pod.spec.image_pull_secrets is None
    names = [dump(obj)["metadata"]["name"] for obj in objects.namespaced_objects()]
    assert "pull-secret" not in names


def test_pull_secret_is_copied_under_the_fixed_name() -> None:
    data = worked_example_data()
    data["lab"]["pullSecret"] = "registry-credentials"
    source = secret("registry-credentials", **{".dockerconfigjson": "{}"})
    source.type = "kubernetes.io/dockerconfigjson"
    objects = build_example(config=make_config(data), pull=source)
    assert objects.pull_secret is not None
    assert objects.pull_secret.metadata is not None
    assert objects.pull_secret.metadata.name == "pull-secret"
    assert objects.pull_secret.metadata.namespace == "nublado-wombat"
    assert objects.pull_secret.type == "kubernetes.io/dockerconfigjson"
    assert objects.pull_secret.data == source.data
    assert objects.pull_secret.immutable is True


def test_configured_pull_secret_that_was_not_found_is_an_error() -> None:
    with pytest.raises(MissingSecretError, match="pull-secret"):
        build_lab(
            make_config(),
            wombat_request(),
            source_secrets=source_secrets(),
            pull_secret=None,
            discovery=DISCOVERY,
        )


def test_startup_check_reports_file_key_problems() -> None:
    data = worked_example_data()
    data["lab"]["files"] = {"/a/x_y": "1", "/b/x.y": "2"}
    with pytest.raises(FileKeyError, match=r"/b/x\.y and /a/x_y"):
        check_lab_config(make_config(data))
