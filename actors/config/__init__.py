"""Controller configuration: pydantic models of the YAML file, its value types, and loading.

Public entry points::

    from actors.config import ControllerConfig, ConfigError, load_config

    config = load_config("/etc/nublado/config.yaml")  # sync; run it in a thread from Trio

``ControllerConfig.model_validate(data)`` builds a configuration from a dict (camelCase or
snake_case keys) without reading the environment; ``build_config(data, environ)`` does the
same with the environment merged in and ``ConfigError`` for failures.
"""

from .controller import DEFAULT_HELPER_IMAGE, ControllerConfig, LogLevel, LogProfile
from .errors import ConfigError
from .fileserver import FileserverConfig, FileserverDisabled, FileserverEnabled
from .fsadmin import FSAdminConfig
from .images import (
    DockerSource,
    DropdownMenuConfig,
    GARSource,
    ImageFilter,
    ImagesConfig,
    ImageSource,
)
from .kubernetes import (
    Affinity,
    ContainerImage,
    PullPolicy,
    ResourceAmounts,
    Resources,
    TaintEffect,
    Toleration,
    TolerationOperator,
)
from .lab import (
    RESERVED_ENV_NAMES,
    RESERVED_ENV_PREFIX,
    EmptyDirSource,
    HomedirSchema,
    InitContainer,
    LabConfig,
    LabSecret,
    LabSize,
    NSSConfig,
    SizeConfig,
)
from .loading import apply_environment, build_config, load_config
from .metrics import (
    KAFKA_REFUSAL,
    MetricsConfig,
    MetricsDisabled,
    MetricsEvents,
    MetricsKafka,
    MetricsMock,
)
from .units import AbsPath, Cpu, Duration, K8sName, Memory, PositiveDuration, SemVer, UtcDatetime
from .volumes import (
    HostPathVolumeSource,
    NFSVolumeSource,
    PVCAccessMode,
    PVCVolumeSource,
    Volume,
    VolumeMount,
    VolumeSource,
)

__all__ = [
    "DEFAULT_HELPER_IMAGE",
    "KAFKA_REFUSAL",
    "RESERVED_ENV_NAMES",
    "RESERVED_ENV_PREFIX",
    "AbsPath",
    "Affinity",
    "ConfigError",
    "ContainerImage",
    "ControllerConfig",
    "Cpu",
    "DockerSource",
    "DropdownMenuConfig",
    "Duration",
    "EmptyDirSource",
    "FSAdminConfig",
    "FileserverConfig",
    "FileserverDisabled",
    "FileserverEnabled",
    "GARSource",
    "HomedirSchema",
    "HostPathVolumeSource",
    "ImageFilter",
    "ImageSource",
    "ImagesConfig",
    "InitContainer",
    "K8sName",
    "LabConfig",
    "LabSecret",
    "LabSize",
    "LogLevel",
    "LogProfile",
    "Memory",
    "MetricsConfig",
    "MetricsDisabled",
    "MetricsEvents",
    "MetricsKafka",
    "MetricsMock",
    "NFSVolumeSource",
    "NSSConfig",
    "PVCAccessMode",
    "PVCVolumeSource",
    "PositiveDuration",
    "PullPolicy",
    "ResourceAmounts",
    "Resources",
    "SemVer",
    "SizeConfig",
    "TaintEffect",
    "Toleration",
    "TolerationOperator",
    "UtcDatetime",
    "Volume",
    "VolumeMount",
    "VolumeSource",
    "apply_environment",
    "build_config",
    "load_config",
]
