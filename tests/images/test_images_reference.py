"""Docker reference parsing (images.md §2.4)."""

from __future__ import annotations

import pytest

from actors.images.reference import DockerReference, InvalidDockerReference


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("lighthouse.ceres/library/sketchbook:recommended@sha256:5678",
         "lighthouse.ceres", "library/sketchbook", "recommended", "sha256:5678"),
        ("docker.io/lsstsqre/sciplat-lab:w_2077_43",
         "docker.io", "lsstsqre/sciplat-lab", "w_2077_43", None),
        ("127.0.0.1:5000/lsstsqre/sciplat-lab@sha256:abcd",
         "127.0.0.1:5000", "lsstsqre/sciplat-lab", None, "sha256:abcd"),
        ("us-central1-docker.pkg.dev/proj/repo/image",
         "us-central1-docker.pkg.dev", "proj/repo/image", None, None),
    ],
)  # fmt: skip
def test_parses_registry_repository_tag_and_digest(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None
) -> None:
    reference = DockerReference.parse(text)
    assert (reference.registry, reference.repository) == (registry, repository)
    assert (reference.tag, reference.digest) == (tag, digest)
    assert str(reference) == text


@pytest.mark.parametrize("text", ["sciplat-lab", "sciplat-lab:latest", "", "/repo:tag", "a/:t"])
def test_strings_without_registry_and_repository_are_invalid(text: str) -> None:
    with pytest.raises(InvalidDockerReference, match="invalid Docker reference"):
        DockerReference.parse(text)


def test_with_and_without_digest() -> None:
    reference = DockerReference.parse("example.org/lab:w_2077_43")
    pinned = reference.with_digest("sha256:1234")
    assert str(pinned) == "example.org/lab:w_2077_43@sha256:1234"
    assert str(pinned.without_digest()) == "example.org/lab:w_2077_43"
    assert pinned.name == "example.org/lab"
