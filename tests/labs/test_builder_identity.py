"""Who the lab runs as: NSS files, home directory, namespace annotations, internal URL."""

from __future__ import annotations

import pytest

from actors.common.models import UserGroup, UserInfo
from actors.labs.builder import (
    NamespaceAnnotationError,
    UserIdentityError,
    check_lab_config,
    home_directory,
    internal_url,
    lab_namespace,
    lab_username,
)
from actors.labs.builder.templates import render_template

from .examples import build_example, make_config, wombat, wombat_request, worked_example_data


def nss(user: UserInfo) -> dict[str, str]:
    data = build_example(request=wombat_request(user)).nss_config_map.data
    assert data is not None
    return data


def test_null_display_name_leaves_gecos_empty() -> None:
    passwd = nss(wombat(name=None))["passwd"]
    assert passwd.endswith("\nwombat:x:4242:4242::/home/wombat:/bin/bash\n")
    assert "None" not in passwd


def test_primary_group_line_has_no_members_even_under_another_name() -> None:
    user = wombat().model_copy(
        update={"groups": [UserGroup(name="staff", id=4242), UserGroup(name="g-x", id=9)]}
    )
    assert nss(user)["group"] == "root:x:0:\nstaff:x:4242:\ng-x:x:9:wombat\n"


def test_primary_group_gets_no_line_unless_listed() -> None:
    user = wombat().model_copy(update={"groups": [UserGroup(name="g-crew", id=70002)]})
    assert nss(user)["group"] == "root:x:0:\ng-crew:x:70002:wombat\n"


def test_groups_keep_gafaelfawr_order() -> None:
    user = wombat().model_copy(
        update={"groups": [UserGroup(name="zeta", id=2), UserGroup(name="alpha", id=1)]}
    )
    assert nss(user)["group"].splitlines()[1:] == ["zeta:x:2:wombat", "alpha:x:1:wombat"]


def test_user_without_uid_is_refused() -> None:
    user = wombat().model_copy(update={"uid": None})
    with pytest.raises(UserIdentityError, match="wombat"):
        build_example(request=wombat_request(user))


def test_home_directory_by_username() -> None:
    assert home_directory(make_config(), "rachel") == "/home/rachel"


def test_home_directory_initial_then_username_with_suffix() -> None:
    data = worked_example_data()
    data["lab"].update(
        homedirPrefix="/u/home/", homedirSchema="initialThenUsername", homedirSuffix="/jhome/"
    )
    config = make_config(data)
    assert home_directory(config, "rachel") == "/u/home/r/rachel/jhome"
    objects = build_example(config=config)
    assert objects.pod.spec is not None
    assert objects.pod.spec.containers[0].working_dir == "/u/home/w/wombat/jhome"
    nss_data = objects.nss_config_map.data
    assert nss_data is not None
    assert ":/u/home/w/wombat/jhome:/bin/bash\n" in nss_data["passwd"]


def test_internal_url_and_namespace() -> None:
    data = worked_example_data()
    data["lab"]["namespacePrefix"] = "userlabs"
    config = make_config(data)
    assert lab_namespace(config, "rachel") == "userlabs-rachel"
    url = internal_url(config, "rachel", "/nb/user/rachel/")
    assert url == "http://lab.userlabs-rachel:8888/nb/user/rachel/"


def test_namespace_annotations_are_rendered_with_uid_and_gid() -> None:
    data = worked_example_data()
    data["lab"]["namespaceAnnotations"] = {
        "openshift.io/sa.scc.uid-range": "{{uid}}/1",
        "openshift.io/sa.scc.supplemental-groups": "{{ gid }}/1",
        "example.org/both": "u{{  uid}}-g{{gid  }}",
        "example.org/plain": "no template",
    }
    user = wombat().model_copy(update={"uid": 5001, "gid": 6001})
    namespace = build_example(config=make_config(data), request=wombat_request(user)).namespace
    assert namespace.metadata is not None
    assert namespace.metadata.annotations == {
        "argocd.argoproj.io/compare-options": "IgnoreExtraneous",
        "argocd.argoproj.io/sync-options": "Prune=false",
        "openshift.io/sa.scc.uid-range": "5001/1",
        "openshift.io/sa.scc.supplemental-groups": "6001/1",
        "example.org/both": "u5001-g6001",
        "example.org/plain": "no template",
    }


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{{ username }}", "unknown variable username"),
        ("{{ uid | string }}", "unsupported expression"),
        ("{{ uid + 1 }}", "unsupported expression"),
        ("{% if uid %}x{% endif %}", "statements"),
        ("{# note #}{{uid}}", "comments"),
        ("{{uid", "unbalanced {{"),
        ("uid}}", "unbalanced }}"),
    ],
)
def test_unsupported_templates_are_refused(template: str, problem: str) -> None:
    with pytest.raises(NamespaceAnnotationError, match=r"example\.org/range") as caught:
        render_template("example.org/range", template, {"uid": 1, "gid": 2})
    assert problem in str(caught.value)


def test_bad_template_fails_the_build_and_the_startup_check() -> None:
    data = worked_example_data()
    data["lab"]["namespaceAnnotations"] = {"example.org/range": "{{ user }}/1"}
    config = make_config(data)
    with pytest.raises(NamespaceAnnotationError, match=r"namespaceAnnotations\[example\.org/range"):
        check_lab_config(config)
    with pytest.raises(NamespaceAnnotationError):
        build_example(config=config)


def test_good_configuration_passes_the_startup_check() -> None:
    check_lab_config(make_config())


def test_username_is_read_back_from_the_namespace_name() -> None:
    config = make_config()
    assert lab_username(config, "nublado-wombat") == "wombat"
    assert lab_username(config, "nublado-") is None
    assert lab_username(config, "other-wombat") is None
