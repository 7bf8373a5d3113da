"""The store's JSON deep copy: equal values, no shared dicts or lists, scalars kept."""

from __future__ import annotations

from typing import Any

from kubesim.jsoncopy import json_copy


def sample() -> dict[str, Any]:
    return {
        "metadata": {"name": "lab", "labels": {"app": "lab"}, "finalizers": ["a"]},
        "spec": {"containers": [{"name": "c", "args": ["x", ["nested"]], "env": []}]},
        "status": {"phase": "Running", "ready": True, "count": 3, "ratio": 0.5, "none": None},
    }


def test_copy_is_equal_to_the_original() -> None:
    original = sample()
    assert json_copy(original) == original


def test_mutating_nested_dicts_and_lists_of_the_copy_leaves_the_original_alone() -> None:
    original = sample()
    copied = json_copy(original)
    copied["metadata"]["labels"]["app"] = "changed"
    copied["metadata"]["finalizers"].append("b")
    copied["spec"]["containers"][0]["args"][1].append("more")
    copied["spec"]["containers"][0]["env"].append({"name": "E"})
    copied["status"]["phase"] = "Failed"
    assert original == sample()


def test_mutating_the_original_leaves_the_copy_alone() -> None:
    original = sample()
    copied = json_copy(original)
    original["spec"]["containers"][0]["name"] = "other"
    del original["metadata"]["labels"]
    assert copied == sample()


def test_no_dict_or_list_is_shared() -> None:
    original = sample()
    copied = json_copy(original)
    assert copied["metadata"] is not original["metadata"]
    assert copied["spec"]["containers"] is not original["spec"]["containers"]
    assert copied["spec"]["containers"][0] is not original["spec"]["containers"][0]
    assert (
        copied["spec"]["containers"][0]["args"][1]
        is not original["spec"]["containers"][0]["args"][1]
    )


def test_a_subobject_referenced_twice_becomes_two_independent_copies() -> None:
    shared = {"k": "v"}
    copied = json_copy({"a": shared, "b": [shared]})
    copied["a"]["k"] = "changed"
    assert copied["b"][0] == {"k": "v"}
    assert shared == {"k": "v"}


def test_top_level_lists_and_scalars_are_copied_too() -> None:
    items = [{"a": 1}, [2]]
    copied = json_copy(items)
    copied[0]["a"] = 9
    copied[1].append(3)
    assert items == [{"a": 1}, [2]]
    for scalar in ("s", 1, 1.5, True, None):
        assert json_copy(scalar) == scalar


def test_non_json_containers_from_python_callers_are_still_deep_copied() -> None:
    inner = {"k": "v"}
    copied = json_copy({"t": (inner,)})
    copied["t"][0]["k"] = "changed"
    assert inner == {"k": "v"}
