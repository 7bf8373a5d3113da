"""The image library: references, the RSP tag grammar, image collections and registry clients.

Pure logic and HTTP clients only; the image service actor, the prepuller and the spawn-form
menu build on these modules. See docs/images.md for the operator's view and
shared spec images.md for the rules.
"""

from .collection import ImageCollection, RSPImage
from .credentials import DockerCredentials, DockerCredentialStore
from .docker import DockerRegistryClient
from .errors import (
    ArtifactRegistryError,
    DockerRegistryError,
    ImageSourceError,
    RegistryAuthError,
    UnknownTagError,
)
from .gar import ArtifactRegistryClient
from .reference import DockerReference, InvalidDockerReference
from .remote import RemoteImage, RemoteImages
from .source import (
    DockerImageSource,
    GARImageSource,
    ImageSource,
    SourceEndpoints,
    build_image_source,
)
from .tags import ImageType, RSPImageTag, SemanticVersion

__all__ = [
    "ArtifactRegistryClient",
    "ArtifactRegistryError",
    "DockerCredentialStore",
    "DockerCredentials",
    "DockerImageSource",
    "DockerReference",
    "DockerRegistryClient",
    "DockerRegistryError",
    "GARImageSource",
    "ImageCollection",
    "ImageSource",
    "ImageSourceError",
    "ImageType",
    "InvalidDockerReference",
    "RSPImage",
    "RSPImageTag",
    "RegistryAuthError",
    "RemoteImage",
    "RemoteImages",
    "SemanticVersion",
    "SourceEndpoints",
    "UnknownTagError",
    "build_image_source",
]
