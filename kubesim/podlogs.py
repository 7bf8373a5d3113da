"""``GET .../pods/{name}/log``: a short simulated log for each container that has started.

No program runs in a simulated container, so the log is made up from what the pod says the
container is: a JupyterLab server (a container listening on a ``jupyterlab`` port, or whose
arguments or image mention Jupyter), the ``worblehat`` WebDAV file server, one of the
``nublado`` helper commands of an init container, or anything else (one line saying that the
container started). Lines are stamped from the container's ``startedAt``, so ``--timestamps``
and ``--since`` behave, and the log is the same each time it is read.

Parameters handled as a real kubelet does: ``container`` (required when the pod has several),
``timestamps``, ``tailLines``, ``limitBytes``, ``sinceSeconds``, ``sinceTime``, ``previous``
(no container ever restarts here, so it is always "not found") and ``follow`` (the caller
keeps the stream open until the container stops; see :mod:`kubesim.api`).
"""

from __future__ import annotations

import time
from calendar import timegm
from typing import Any

from kubesim.errors import bad_request

_TRUE = ("1", "true", "True")


def _stamp_seconds(stamp: str | None) -> float:
    if not stamp:
        return time.time()
    try:
        return float(timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return time.time()


def _rfc3339nano(seconds: float) -> str:
    whole, nanos = divmod(round(seconds * 1e9), 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{nanos:09d}Z"


def _jupyter_time(seconds: float) -> str:
    whole, millis = divmod(round(seconds * 1000), 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(whole)) + f".{millis:03d}"


def _lab_lines(pod: dict[str, Any], env: dict[str, Any]) -> list[tuple[float, str]]:
    labels = pod["metadata"].get("labels") or {}
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX") or "/"
    port = env.get("_port") or 8888
    user = (
        env.get("USER")
        or env.get("JUPYTERHUB_USER")
        or labels.get("nublado.lsst.io/user")
        or "user"
    )
    messages = [
        "ServerApp] jupyter_lsp | extension was successfully linked.",
        "ServerApp] jupyter_server_terminals | extension was successfully linked.",
        "ServerApp] jupyterlab | extension was successfully linked.",
        "ServerApp] nbclassic | extension was successfully linked.",
        "ServerApp] Writing Jupyter server cookie secret to"
        f" /home/{user}/.local/share/jupyter/runtime/jupyter_cookie_secret",
        "ServerApp] jupyterlab | extension was successfully loaded.",
        f"ServerApp] Serving notebooks from local directory: /home/{user}",
        "ServerApp] Jupyter Server is running at:",
        f"ServerApp] http://{pod['metadata']['name']}:{port}{prefix}lab",
        "ServerApp] Use Control-C to stop this server and shut down all kernels"
        " (twice to skip confirmation).",
    ]
    return [(0.05 * i, f"[I {{time}} {message}") for i, message in enumerate(messages)]


def _worblehat_lines(env: dict[str, Any]) -> list[tuple[float, str]]:
    timeout = env.get("WORBLEHAT_TIMEOUT")
    lines = [
        "INFO:     Started server process [1]",
        "INFO:     Waiting for application startup.",
        "INFO:     Application startup complete.",
        "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)",
    ]
    if timeout:
        lines.append(f"INFO:     Exiting after {timeout} seconds without a request")
    return [(0.02 * i, line) for i, line in enumerate(lines)]


def _nublado_lines(command: list[str], env: dict[str, Any]) -> list[tuple[float, str]]:
    sub = command[1] if len(command) > 1 else ""
    home = env.get("NUBLADO_HOME") or env.get("HOME") or "the home directory"
    messages = {
        "inithome": [f"Checking {home}", f"{home} exists and has the right owner"],
        "landingpage": ["Copying the landing page into the home directory", "Done"],
        "startup": ["Preparing the lab environment", "Done"],
        "migrator": ["Copying the old home directory to the new one", "Copy complete"],
    }.get(sub, [f"nublado {sub}: done"])
    return [(0.01 * i, line) for i, line in enumerate(messages)]


def _lines(
    pod: dict[str, Any], container: dict[str, Any], env: dict[str, Any]
) -> list[tuple[float, str]]:
    """(seconds after the start, text) for one container; ``{time}`` is filled in later."""
    command = [str(part) for part in container.get("command") or []]
    text = " ".join([*command, *(str(a) for a in container.get("args") or [])]).lower()
    named_ports = {p.get("name") for p in container.get("ports") or []}
    env = {**env, **{e.get("name"): e.get("value") for e in container.get("env") or []}}
    ports = [p.get("containerPort") for p in container.get("ports") or []]
    env["_port"] = next((p for p in ports if p), None)
    if command and command[0].rsplit("/", 1)[-1] == "worblehat":
        return _worblehat_lines(env)
    if command[:1] == ["nublado"]:
        return _nublado_lines(command, env)
    if "jupyterlab" in named_ports or "jupyter" in text or "runlab" in text:
        return _lab_lines(pod, env)
    return [(0.0, f"{container.get('name', 'container')} started (a kubesim container)")]


def _container(pod: dict[str, Any], name: str | None) -> tuple[dict[str, Any], bool]:
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    inits = spec.get("initContainers") or []
    pod_name = pod["metadata"]["name"]
    if name is None:
        if len(containers) == 1:
            return containers[0], False
        names = " ".join(c.get("name", "") for c in containers)
        message = f"a container name must be specified for pod {pod_name}, choose one of: [{names}]"
        if inits:
            init_names = " ".join(c.get("name", "") for c in inits)
            message += f" or one of the init containers: [{init_names}]"
        raise bad_request(message)
    for container in containers:
        if container.get("name") == name:
            return container, False
    for container in inits:
        if container.get("name") == name:
            return container, True
    raise bad_request(f"container {name} is not valid for pod {pod_name}")


def container_state(pod: dict[str, Any], name: str, init: bool) -> dict[str, Any]:
    """The container's ``state`` from the pod status (``{}`` before the kubelet wrote one)."""
    key = "initContainerStatuses" if init else "containerStatuses"
    for status in (pod.get("status") or {}).get(key) or []:
        if status.get("name") == name:
            state: dict[str, Any] = status.get("state") or {}
            return state
    return {}


def resolve(pod: dict[str, Any], query: dict[str, str]) -> tuple[str, bool]:
    """The container a log request is about, and whether it is an init container.

    Raises 400 as a real API server does for a missing or unknown container name, a
    container that has not started, and ``previous`` (no container here ever restarted).
    """
    container, init = _container(pod, query.get("container") or None)
    name = container["name"]
    pod_name = pod["metadata"]["name"]
    if query.get("previous") in _TRUE:
        raise bad_request(f'previous terminated container "{name}" in pod "{pod_name}" not found')
    state = container_state(pod, name, init)
    if "running" not in state and "terminated" not in state:
        reason = (state.get("waiting") or {}).get("reason") or (
            "PodInitializing" if init else "ContainerCreating"
        )
        raise bad_request(f'container "{name}" in pod "{pod_name}" is waiting to start: {reason}')
    return name, init


def _int(query: dict[str, str], key: str) -> int | None:
    value = query.get(key)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"{key}: invalid value {value!r}: must be an integer") from None


def env_from_sources(container: dict[str, Any]) -> list[str]:
    """The ConfigMaps a container takes environment variables from (``envFrom``)."""
    names = []
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef") or {}
        if ref.get("name"):
            names.append(str(ref["name"]))
    return names


def container_spec(pod: dict[str, Any], name: str, init: bool) -> dict[str, Any]:
    spec = pod.get("spec") or {}
    containers = spec.get("initContainers" if init else "containers") or []
    found: dict[str, Any] = next(c for c in containers if c.get("name") == name)
    return found


def render(
    pod: dict[str, Any],
    name: str,
    init: bool,
    query: dict[str, str],
    env: dict[str, Any] | None = None,
) -> bytes:
    """The log text of container ``name`` (see :func:`resolve`), filtered by ``query``;
    ``env`` holds the variables of its ``envFrom`` ConfigMaps (the caller reads them)."""
    container = container_spec(pod, name, init)
    state = container_state(pod, name, init)
    started = _stamp_seconds(
        (state.get("running") or state.get("terminated") or {}).get("startedAt")
    )
    lines = [(started + offset, text) for offset, text in _lines(pod, container, env or {})]
    since = _int(query, "sinceSeconds")
    if since is not None:
        lines = [(at, text) for at, text in lines if at >= time.time() - since]
    if query.get("sinceTime"):
        after = _stamp_seconds(query["sinceTime"])
        lines = [(at, text) for at, text in lines if at >= after]
    tail = _int(query, "tailLines")
    if tail is not None and tail >= 0:
        lines = lines[len(lines) - tail :] if tail else []
    stamps = query.get("timestamps") in _TRUE
    out = []
    for at, text in lines:
        line = text.replace("{time}", _jupyter_time(at))
        out.append(f"{_rfc3339nano(at)} {line}\n" if stamps else f"{line}\n")
    data = "".join(out).encode()
    limit = _int(query, "limitBytes")
    if limit is not None and limit > 0:
        data = data[:limit]
    return data
