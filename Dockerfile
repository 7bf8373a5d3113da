# syntax=docker/dockerfile:1
# nublado-trio controller image (see docs/packaging.md).
#
# Build:  buildah bud --isolation chroot --build-arg VERSION=0.1.0 -t nublado-trio:0.1.0 .
#         (docker build works the same way)
#
# Layers, from the least to the most often changed: the base with its security upgrades,
# the dependencies installed from the hash-pinned lock file, then this project's wheel.
# Changing the code rebuilds only the last one (a few hundred kilobytes).

# The base image. Pin it by digest for reproducible builds:
#   --build-arg BASE=docker.io/library/python:3.11-slim-bookworm@sha256:<digest>
# (the digest of the tag you have tested: `skopeo inspect docker://<image> | jq .Digest`, or
# `buildah pull <image>` then `buildah images --digests`). docs/packaging.md says more.
ARG BASE=docker.io/library/python:3.11-slim-bookworm

FROM ${BASE} AS base
# Security fixes released since the base image was built.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get -y upgrade \
    && rm -rf /var/lib/apt/lists/*

FROM base AS dependencies
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
# Runtime dependencies, from the lock file only: this stage (and the layer the runtime
# stage copies from it) is rebuilt only when requirements.lock changes.
COPY requirements.lock /tmp/
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-deps --require-hashes -r /tmp/requirements.lock

FROM base AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# The project's wheel, built with the locked build backend (no unpinned download).
COPY requirements-build.lock /tmp/
RUN python3 -m venv /opt/build \
    && /opt/build/bin/pip install --no-deps --require-hashes -r /tmp/requirements-build.lock
COPY pyproject.toml README.md LICENSE ./
COPY actors ./actors
COPY web ./web
COPY kubesim ./kubesim
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels .

FROM base AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="nublado-trio" \
      org.opencontainers.image.description="Lab controller for Jupyter science platforms: an actor system on Trio, API-compatible with Nublado" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.vendor="nublado-trio contributors"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NUBLADO_CONFIG_PATH=/etc/nublado/config.yaml
# An ordinary (not --system) account: uid 1000 is outside the system range, which is what
# made useradd warn. No home directory: the controller writes nothing but /tmp.
RUN groupadd --gid 1000 nublado \
    && useradd --uid 1000 --gid nublado --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin --no-log-init nublado
COPY --from=dependencies /opt/venv /opt/venv
COPY --from=wheel /wheels /tmp/wheels
RUN PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    /opt/venv/bin/pip install --no-deps /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels
USER 1000:1000
EXPOSE 8080
# The configuration path comes from NUBLADO_CONFIG_PATH (mount the ConfigMap there).
ENTRYPOINT ["nublado-trio", "serve"]
CMD ["--port", "8080"]
