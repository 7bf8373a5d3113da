# syntax=docker/dockerfile:1
# nublado-trio controller image: build a wheel in one stage, install it into a clean
# virtual environment in a second, and run as an unprivileged user.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY actors ./actors
COPY web ./web
COPY kubesim ./kubesim
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install .

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    NUBLADO_CONFIG_PATH=/etc/nublado/config.yaml
RUN groupadd --system --gid 1000 nublado \
    && useradd --system --uid 1000 --gid nublado --home-dir /nonexistent --shell /usr/sbin/nologin nublado
COPY --from=build /opt/venv /opt/venv
USER 1000:1000
EXPOSE 8080
# The configuration path comes from NUBLADO_CONFIG_PATH (mount the ConfigMap there).
ENTRYPOINT ["nublado-trio", "serve"]
CMD ["--port", "8080"]
