"""Pipelines and pipeline versions: shared when the namespace is empty, namespaced otherwise.

Shared pipelines are readable by anyone; writes to them are authorized in the KFP system
namespace (``POD_NAMESPACE``).  Versions have no namespace of their own and are authorized through
their parent pipeline with the ``pipelines`` resource (spec sections 3.5 and 4.4).
"""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from dataclasses import dataclass, field
from typing import Any

import yaml

from emulator import bugs
from emulator.errors import (
    GrpcCode,
    KfpError,
    UploadError,
    already_exists,
    internal_error,
    invalid_input,
    not_found,
)
from emulator.kfp.access import Credentials
from emulator.kfp.listing import Listable, Page, paginate, parse_list_query
from emulator.kfp.models import Pipeline, PipelineSource, PipelineVersion
from emulator.kfp.state import KfpState, is_empty_namespace, new_id
from emulator.kube.rbac import ResourceAttributes

NAMESPACE_REQUIRED = "Namespace is required for pipeline operations"
MAX_NAME = 128
MAX_NAMESPACE = 63
MAX_VERSION_NAME = 127  # validation/length.go: PipelineVersion.Name
MAX_FILE_BYTES = 32 << 20

PIPELINE_LISTABLE = Listable("Pipeline", {
    "id": ("UUID", lambda p: p.id),
    "pipeline_id": ("UUID", lambda p: p.id),
    "name": ("Name", lambda p: p.name),
    "display_name": ("DisplayName", lambda p: p.display_name or p.name),
    "created_at": ("CreatedAtInSec", lambda p: int(p.created_at)),
    "description": ("Description", lambda p: p.description),
    "namespace": ("Namespace", lambda p: p.namespace),
})
VERSION_LISTABLE = Listable("PipelineVersion", {
    "id": ("UUID", lambda v: v.id),
    "pipeline_version_id": ("UUID", lambda v: v.id),
    "name": ("Name", lambda v: v.name),
    "display_name": ("DisplayName", lambda v: v.display_name or v.name),
    "created_at": ("CreatedAtInSec", lambda v: int(v.created_at)),
    "status": ("Status", lambda v: "READY"),
    "description": ("Description", lambda v: v.description),
    "pipeline_spec": ("PipelineSpec", lambda v: json.dumps(v.pipeline_spec or {})),
})


@dataclass
class VersionRequest:
    name: str = ""
    display_name: str = ""
    description: str = ""
    package_url: str = ""
    code_source_url: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    spec_text: str | None = None  # set by uploads; otherwise fetched from package_url


@dataclass
class ParsedTemplate:
    spec: dict[str, Any]
    text: str
    is_v2: bool
    # The kfp-kubernetes PlatformSpec: the YAML documents after the first, merged (as the SDK
    # and the server's template parser read them).
    platform_spec: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        info = self.spec.get("pipelineInfo") if self.is_v2 else self.spec.get("metadata")
        value = info.get("name") if isinstance(info, dict) else None
        if not value and not self.is_v2 and isinstance(info, dict):
            value = info.get("generateName", "").rstrip("-")
        return str(value or "")

    @property
    def parameters(self) -> list[dict[str, str]]:
        if self.is_v2:
            # template.V2Spec.ParametersJSON is "[]" upstream: v1 pipelines and versions built
            # from a KFP v2 IR carry no parameters.
            return []
        arguments = self.spec.get("spec", {}).get("arguments", {})
        params = arguments.get("parameters", []) if isinstance(arguments, dict) else []
        out = []
        for p in params if isinstance(params, list) else []:
            if isinstance(p, dict) and "name" in p:
                entry = {"name": str(p["name"])}
                if "value" in p:
                    entry["value"] = str(p["value"])
                out.append(entry)
        return out


def parse_template(text: str) -> ParsedTemplate:
    """``template.New``: a KFP v2 IR (pipelineInfo + root) or an Argo Workflow (v1)."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise invalid_input("Failed to parse the pipeline spec", str(exc).splitlines()[0]) \
            from None
    first = documents[0] if documents else None
    if isinstance(first, dict) and "pipelineInfo" in first and "root" in first:
        platform: dict[str, Any] = {}
        for document in documents[1:]:
            if isinstance(document, dict):
                platform.update(document)
        return ParsedTemplate(first, text, True, platform or None)
    if isinstance(first, dict) and first.get("kind") == "Workflow" and \
            str(first.get("apiVersion", "")).startswith("argoproj.io/"):
        return ParsedTemplate(first, text, False)
    raise invalid_input("unknown template format: pipeline spec is neither a KFP v2 "
                        "PipelineSpec nor an Argo Workflow")


def read_pipeline_file(filename: str, data: bytes) -> str:
    """``ReadPipelineFile``: YAML/JSON by name, zip or .tar.gz by content."""
    if len(data) > MAX_FILE_BYTES:
        raise invalid_input("File size too large")
    lower = filename.lower()
    try:
        if lower.endswith((".yaml", ".yml", ".json")):
            return data.decode("utf-8")
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = archive.namelist()
                if not names:
                    raise invalid_input("Error extracting pipeline from the zip file. Empty "
                                        "zip file")
                return archive.read(names[0]).decode("utf-8")
        if data[:2] == b"\x1f\x8b":
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                member = archive.next()
                if member is None or not member.isfile():
                    raise invalid_input("Error extracting pipeline from the tarball file. "
                                        "Expecting a pipeline.yaml file inside the tarball")
                extracted = archive.extractfile(member)
                return (extracted.read() if extracted else b"").decode("utf-8")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise invalid_input("Error decompress the pipeline file", str(exc)) from None
    except UnicodeDecodeError:
        raise invalid_input("Error read pipeline file", "not UTF-8 text") from None
    raise invalid_input("Unexpected pipeline file format. Support .zip, .tar.gz, .json or YAML")


def pipeline_name_from(name: str, display_name: str, filename: str) -> str:
    if name:
        return name
    if display_name:
        return display_name
    base = filename.rsplit("/", 1)[-1]
    for suffix in (".tar.gz", ".yaml", ".yml", ".json", ".zip", ".tgz"):
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base


class PipelineService:
    def __init__(self, state: KfpState, package_fetcher: Any = None) -> None:
        self.state = state
        # Callable[[str], str] fetching a package_url; see emulator.kfp.packages.
        self.fetch_package = package_fetcher

    # -- authorization -------------------------------------------------------------------------

    def _authorize(self, creds: Credentials, namespace: str, verb: str, name: str,
                   pipeline_id: str = "", *, shared_write_bug: str = "ISO-005") -> None:
        """canAccessPipeline: shared reads are free; shared writes are checked in POD_NAMESPACE.

        ``shared_write_bug`` names the historical bug that opened this caller's shared writes:
        the JSON/gRPC handlers' (ISO-005, fixed in 2.17.0) or the multipart uploads' (ISO-006,
        fixed only in 2.18.0), so each switch opens its own path and not the other.
        """
        config = self.state.config
        if not config.multiuser:
            return
        if is_empty_namespace(namespace):
            if verb in ("get", "list"):
                if not bugs.on(config, "ISO-012"):
                    return
                # ISO-012: 2.0.0-beta.0 asked a SAR with namespace "" (cluster scope), which
                # ordinary users do not hold.
                try:
                    self.state.access.authorize(creds, ResourceAttributes(
                        namespace="", verb=verb, resource="pipelines", name=name))
                except KfpError as error:
                    raise error.wrap(f"Failed to access pipeline {pipeline_id}. Check if you "
                                     f"have access to namespace {namespace}") from None
                return
            if bugs.on(config, shared_write_bug):
                # ISO-005/ISO-006: "Skip authentication if the namespace is empty to enable
                # shared pipelines" (2.0 ... 2.16 for JSON writes, <= 2.17 for uploads).
                return
            try:
                self.state.access.authorize(creds, ResourceAttributes(
                    namespace=config.pod_namespace, verb=verb, resource="pipelines", name=name))
            except KfpError as error:
                raise error.wrap(f"Failed to access shared pipeline {pipeline_id}. Check if you "
                                 f"have permission to {verb} shared pipelines") from None
            return
        try:
            self.state.access.authorize(creds, ResourceAttributes(
                namespace=namespace, verb=verb, resource="pipelines", name=name))
        except KfpError as error:
            raise error.wrap(f"Failed to access pipeline {pipeline_id}. Check if you have access "
                             f"to namespace {namespace}") from None

    def _require_namespace(self, namespace: str) -> None:
        config = self.state.config
        if config.multiuser and config.require_namespace_for_pipelines and \
                is_empty_namespace(namespace):
            raise invalid_input(NAMESPACE_REQUIRED)

    def lookup(self, pipeline_id: str) -> Pipeline:
        pipeline = self.state.pipelines.get(pipeline_id)
        if pipeline is None:
            raise not_found("Pipeline", pipeline_id)
        return pipeline

    def lookup_version(self, version_id: str) -> PipelineVersion:
        version = self.state.versions.get(version_id)
        if version is None:
            raise not_found("PipelineVersion", version_id)
        return version

    def _checked(self, creds: Credentials, pipeline_id: str, verb: str) -> Pipeline:
        pipeline = self.lookup(pipeline_id)
        self._authorize(creds, pipeline.namespace, verb, pipeline.name, pipeline.id)
        return pipeline

    def _checked_version(self, creds: Credentials, version_id: str,
                         verb: str) -> tuple[Pipeline, PipelineVersion]:
        version = self.lookup_version(version_id)
        pipeline = self.lookup(version.pipeline_id)
        self._authorize(creds, pipeline.namespace, verb, pipeline.name, pipeline.id)
        return pipeline, version

    # -- pipelines -----------------------------------------------------------------------------

    def _validate_names(self, name: str, namespace: str) -> None:
        """``toModelPipeline``: ValidateModel's failure is wrapped as an internal error (500)."""
        if len(name) > MAX_NAME:
            raise internal_error(f"Invalid input error: Pipeline.Name length cannot exceed "
                                 f"{MAX_NAME}")
        if len(namespace) > MAX_NAMESPACE:
            raise internal_error(f"Invalid input error: Pipeline.Namespace length cannot exceed "
                                 f"{MAX_NAMESPACE}")

    def _new_pipeline(self, name: str, display_name: str, description: str, namespace: str,
                      tags: dict[str, str]) -> Pipeline:
        for existing in self.state.pipelines.in_namespace(namespace):
            if existing.name == name:
                raise already_exists(f"Failed to create a new pipeline. The name {name} already "
                                     f"exists. Please specify a new name")
        return Pipeline(new_id(), name, namespace, display_name or name, description,
                        int(self.state.now()), dict(tags))

    def create(self, creds: Credentials, *, name: str, display_name: str = "",
               description: str = "", namespace: str = "", tags: dict[str, str] | None = None,
               version: VersionRequest | None = None,
               api: str = "v2beta1") -> tuple[Pipeline, PipelineVersion | None]:
        """Create a pipeline, and with ``version`` its first version, in one transaction."""
        top = "Failed to create a pipeline" if api == "v2beta1" else \
            "Failed to create a v1beta1 pipeline"
        try:
            name = name or display_name
            self._validate_names(name, namespace)
            namespace = self.state.storage_namespace(namespace)
            self._require_namespace(namespace)
            self._authorize(creds, namespace, "create", name)
            template = self._template_for(version) if version is not None else None
            if not name and template is not None:
                name = template.name
            if not name:
                raise invalid_input("pipeline's name cannot be empty")
            pipeline = self._new_pipeline(name, display_name, description, namespace,
                                          tags or {})
            created = None
            if version is not None and template is not None:
                created = self._new_version(pipeline, version, template)
        except KfpError as error:
            raise error.wrap(top) from None
        self.state.pipelines.add(pipeline)
        if created is not None:
            self.state.versions.add(created)
        return pipeline, created

    def upload(self, creds: Credentials, *, filename: str, data: bytes, name: str = "",
               display_name: str = "", description: str = "", namespace: str = "",
               tags_text: str = "", code_source_url: str = "") -> tuple[Pipeline,
                                                                        PipelineVersion]:
        """The multipart upload handler, with its own error shapes (spec section 5.5)."""
        try:
            text = read_pipeline_file(filename, data)
        except KfpError:
            raise UploadError(400, "Failed to read a pipeline spec file") from None
        if len(namespace) > MAX_NAMESPACE:
            raise UploadError(400, f"Invalid input error: Pipeline.Namespace length cannot "
                              f"exceed {MAX_NAMESPACE}\n", plain_text=True)
        namespace = self.state.storage_namespace(namespace)
        try:
            self._require_namespace(namespace)
        except KfpError as error:
            raise UploadError(400, error.internal + "\n", plain_text=True) from None
        try:
            self._authorize(creds, namespace, "create", "", shared_write_bug="ISO-006")
        except KfpError as error:
            raise UploadError(400, "Failed to create a pipeline", error.internal) from None
        tags = self._tags(tags_text)
        pipeline_name = pipeline_name_from(name, display_name, filename)
        if len(pipeline_name) > MAX_NAME:
            raise UploadError(400, f"Invalid input error: Pipeline.Name length cannot exceed "
                              f"{MAX_NAME}\n", plain_text=True)
        request = VersionRequest(name=pipeline_name, display_name=display_name or pipeline_name,
                                 description=description, code_source_url=code_source_url,
                                 spec_text=text)
        try:
            template = self._template_for(request)
            pipeline = self._new_pipeline(pipeline_name, display_name or pipeline_name,
                                          description, namespace, tags)
            version = self._new_version(pipeline, request, template)
        except KfpError as error:
            raise self._upload_failure(error, "Failed to create a pipeline and a pipeline "
                                              "version") from None
        self.state.pipelines.add(pipeline)
        self.state.versions.add(version)
        return pipeline, version

    @staticmethod
    def _upload_failure(error: KfpError, generic: str) -> UploadError:
        if error.code == GrpcCode.ALREADY_EXISTS:
            return UploadError(409, generic, error.internal)
        if error.code == GrpcCode.INVALID_ARGUMENT:
            return UploadError(400, error.external, error.internal)
        return UploadError(500, generic, error.internal)

    @staticmethod
    def _tags(tags_text: str) -> dict[str, str]:
        if not tags_text:
            return {}
        try:
            tags = json.loads(tags_text)
        except ValueError:
            tags = None
        if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in tags.items()):
            raise UploadError(400, "Failed to parse tags query parameter. Expected JSON object "
                                   "with string keys and values")
        return tags

    def get(self, creds: Credentials, pipeline_id: str, api: str = "v2beta1") -> Pipeline:
        try:
            return self._checked(creds, pipeline_id, "get")
        except KfpError as error:
            raise error.wrap("Failed to get a pipeline" if api == "v2beta1"
                             else "Failed to get a v1beta1 pipeline") from None

    def get_by_name(self, creds: Credentials, name: str, namespace: str,
                    api: str = "v2beta1") -> Pipeline:
        try:
            namespace = self.state.storage_namespace(namespace)
            self._require_namespace(namespace)
            self._authorize(creds, namespace, "get", name)
            # v1 matches the path segment literally ("-" is a namespace of its own there).
            stored = namespace if api == "v1beta1" or not is_empty_namespace(namespace) else ""
            for pipeline in self.state.pipelines.in_namespace(stored):
                if pipeline.name == name:
                    return pipeline
            kind = "Namespace/Pipeline" if api == "v2beta1" else \
                "Namespace/Pipeline and PipelineVersion"
            raise not_found(kind, f"{namespace}/{name}")
        except KfpError as error:
            raise error.wrap("Failed to get a pipeline by name" if api == "v2beta1"
                             else "Failed to get a v1beta1 pipeline by name") from None

    def list(self, creds: Credentials, namespace: str, *, page_token: str = "",
             page_size: object = None, sort_by: str = "", filter_text: str = "",
             api: str = "v2beta1") -> Page[Pipeline]:
        try:
            query = parse_list_query(PIPELINE_LISTABLE, page_token=page_token,
                                     page_size=page_size, sort_by=sort_by,
                                     filter_text=filter_text, api_version=api)
            namespace = self.state.storage_namespace(namespace)
            self._require_namespace(namespace)
            self._authorize(creds, namespace, "list", "")
            if is_empty_namespace(namespace):
                namespace = ""
            return paginate(query, PIPELINE_LISTABLE,
                            self.state.pipelines.in_namespace(namespace), lambda p: p.id)
        except KfpError as error:
            raise error.wrap("Failed to list pipelines" if api == "v2beta1"
                             else "Failed to list v1beta1 pipelines") from None

    def update(self, creds: Credentials, pipeline_id: str, changes: dict[str, Any]) -> Pipeline:
        try:
            pipeline = self._checked(creds, pipeline_id, "update")
        except KfpError as error:
            raise error.wrap("Failed to update a pipeline") from None
        if changes.get("display_name"):
            pipeline.display_name = changes["display_name"]
        if "description" in changes:
            pipeline.description = changes["description"]
        if "tags" in changes:
            pipeline.tags = dict(changes["tags"])
        return pipeline

    def set_default_version(self, creds: Credentials, pipeline_id: str, version_id: str) -> None:
        """v1 only; v2 servers keep no default version, so this only checks and authorizes."""
        try:
            pipeline = self._checked(creds, pipeline_id, "update")
            version = self.lookup_version(version_id)
            if version.pipeline_id != pipeline.id:
                raise invalid_input(f"Pipeline version {version_id} does not belong to pipeline "
                                    f"{pipeline_id}")
        except KfpError as error:
            raise error.wrap("Failed to update the default pipeline version") from None

    def delete(self, creds: Credentials, pipeline_id: str, cascade: bool = False,
               api: str = "v2beta1") -> None:
        try:
            pipeline = self._checked(creds, pipeline_id, "delete")
            latest = self.state.versions.latest(pipeline.id)
            if latest is not None and not cascade:
                raise invalid_input(f"Failed to delete pipeline with id {pipeline.id} as it has "
                                    f"existing pipeline versions (e.g. {latest.id}). Set "
                                    "cascade=true to delete all versions")
        except KfpError as error:
            raise error.wrap("Failed to delete a pipeline" if api == "v2beta1"
                             else "Failed to delete a v1beta1 pipeline") from None
        for version in list(self.state.versions.of(pipeline.id)):
            self.state.versions.remove(version.id)
        self.state.pipelines.remove(pipeline.id)

    # -- versions ------------------------------------------------------------------------------

    def _template_for(self, request: VersionRequest) -> ParsedTemplate:
        text = request.spec_text
        if text is None:
            if not request.package_url:
                raise invalid_input("Failed to fetch a template with an empty pipeline spec "
                                    "manifest: package_url is empty")
            if self.fetch_package is None:
                raise invalid_input("Failed to download the pipeline package",
                                    "package downloads are disabled")
            text = self.fetch_package(request.package_url)
        return parse_template(text)

    def _new_version(self, pipeline: Pipeline, request: VersionRequest,
                     template: ParsedTemplate) -> PipelineVersion:
        name = request.name or pipeline.name
        if len(name) > MAX_VERSION_NAME:
            # toModelPipelineVersion wraps ValidateModel's failure as an internal error.
            raise internal_error(f"Invalid input error: PipelineVersion.Name length cannot "
                                 f"exceed {MAX_VERSION_NAME}")
        for existing in self.state.versions.of(pipeline.id):
            if existing.name == name:
                raise already_exists(f"Failed to create a new pipeline version. The name {name} "
                                     "already exists. Please specify a new name")
        return PipelineVersion(
            id=new_id(),
            pipeline_id=pipeline.id,
            name=name,
            display_name=request.display_name or name,
            description=request.description,
            created_at=int(self.state.now()),
            pipeline_spec=template.spec,
            workflow_manifest=template.text,
            package_url=request.package_url,
            code_source_url=request.code_source_url,
            tags=dict(request.tags),
            parameters=template.parameters,
            platform_spec=template.platform_spec,
        )

    def create_version(self, creds: Credentials, pipeline_id: str, request: VersionRequest,
                       api: str = "v2beta1") -> PipelineVersion:
        top = "Failed to create a pipeline version" if api == "v2beta1" else \
            "Failed to create a v1beta1 pipeline version"
        try:
            pipeline = self.lookup(pipeline_id)
            # ISO-004: 1.5 ... 1.8.5 asked CanAccessPipeline(ctx, "", list) here, which returned
            # "allowed" for the empty namespace before any authentication or SAR (so no
            # shared-pipeline rule applies either, ISO-012 included).
            if not (api == "v1beta1" and bugs.on(self.state.config, "ISO-004")):
                self._authorize(creds, pipeline.namespace, "create", request.name, pipeline.id)
            template = self._template_for(request)
            version = self._new_version(pipeline, request, template)
        except KfpError as error:
            raise error.wrap(top) from None
        self.state.versions.add(version)
        return version

    def upload_version(self, creds: Credentials, *, filename: str, data: bytes,
                       pipeline_id: str, name: str = "", display_name: str = "",
                       description: str = "", tags_text: str = "",
                       code_source_url: str = "") -> PipelineVersion:
        generic = "Failed to create a pipeline version"
        try:
            text = read_pipeline_file(filename, data)
        except KfpError:
            raise UploadError(400, generic) from None
        if not pipeline_id:
            raise UploadError(400, generic)
        # The version name's length is checked before the parent pipeline is looked up.
        version_name = pipeline_name_from(name, display_name, filename)
        if len(version_name) > MAX_VERSION_NAME:
            raise UploadError(400, f"Invalid input error: PipelineVersion.Name length cannot "
                              f"exceed {MAX_VERSION_NAME}\n", plain_text=True)
        pipeline = self.state.pipelines.get(pipeline_id)
        if pipeline is None:
            raise UploadError(400, generic, f"ResourceNotFoundError: Pipeline {pipeline_id} "
                                            "not found")
        try:
            self._require_namespace(pipeline.namespace)
        except KfpError as error:
            raise UploadError(400, error.internal + "\n", plain_text=True) from None
        try:
            self._authorize(creds, pipeline.namespace, "create", "", pipeline.id,
                            shared_write_bug="ISO-006")
        except KfpError as error:
            raise UploadError(400, generic, error.internal) from None
        tags = self._tags(tags_text)
        request = VersionRequest(name=version_name, display_name=display_name or version_name,
                                 description=description, code_source_url=code_source_url,
                                 tags=tags, spec_text=text)
        try:
            version = self._new_version(pipeline, request, self._template_for(request))
        except KfpError as error:
            raise self._upload_failure(error, generic) from None
        self.state.versions.add(version)
        return version

    def get_version(self, creds: Credentials, version_id: str,
                    api: str = "v2beta1") -> PipelineVersion:
        try:
            return self._checked_version(creds, version_id, "get")[1]
        except KfpError as error:
            raise error.wrap("Failed to get a pipeline version" if api == "v2beta1"
                             else "Failed to get a v1beta1 pipeline version") from None

    def list_versions(self, creds: Credentials, pipeline_id: str, *, page_token: str = "",
                      page_size: object = None, sort_by: str = "", filter_text: str = "",
                      api: str = "v2beta1") -> Page[PipelineVersion]:
        try:
            query = parse_list_query(VERSION_LISTABLE, page_token=page_token,
                                     page_size=page_size, sort_by=sort_by,
                                     filter_text=filter_text, api_version=api)
            pipeline = self.lookup(pipeline_id)
            # ListPipelineVersions authorizes without a pipeline id, so the SAR has no name.
            self._authorize(creds, pipeline.namespace, "list", "")
            return paginate(query, VERSION_LISTABLE, self.state.versions.of(pipeline.id),
                            lambda v: v.id)
        except KfpError as error:
            raise error.wrap("Failed to list pipeline versions" if api == "v2beta1"
                             else "Failed to list v1beta1 pipeline versions") from None

    def delete_version(self, creds: Credentials, version_id: str, api: str = "v2beta1") -> None:
        try:
            _, version = self._checked_version(creds, version_id, "delete")
        except KfpError as error:
            raise error.wrap("Failed to delete a pipeline version" if api == "v2beta1"
                             else "Failed to delete a v1beta1 pipeline version") from None
        self.state.versions.remove(version.id)

    def update_version(self, creds: Credentials, version_id: str,
                       changes: dict[str, Any]) -> PipelineVersion:
        try:
            _, version = self._checked_version(creds, version_id, "update")
        except KfpError as error:
            raise error.wrap("Failed to update a pipeline version") from None
        if changes.get("display_name"):
            version.display_name = changes["display_name"]
        if "description" in changes:
            version.description = changes["description"]
        if "tags" in changes:
            version.tags = dict(changes["tags"])
        return version

    def template(self, creds: Credentials, *, pipeline_id: str = "",
                 version_id: str = "") -> str:
        """v1 GetTemplate / GetPipelineVersionTemplate."""
        try:
            if version_id:
                _, version = self._checked_version(creds, version_id, "get")
            else:
                pipeline = self._checked(creds, pipeline_id, "get")
                latest = self.state.versions.latest(pipeline.id)
                if latest is None:
                    raise not_found("PipelineVersion", f"latest of pipeline {pipeline.id}")
                version = latest
        except KfpError as error:
            raise error.wrap("Failed to get a template") from None
        return version.workflow_manifest

    # -- runs referencing pipelines ------------------------------------------------------------

    def resolve_source(self, creds: Credentials, source: PipelineSource,
                       kind: str) -> PipelineSource:
        """Fill a run's spec from a referenced version; the caller must be able to read it.

        Real KFP up to 2.17 loads any referenced version without an ownership check (ISO-007);
        the secure behaviour (2.18) authorizes ``get`` on the referenced pipeline.
        """
        if source.pipeline_version_id or source.pipeline_id:
            try:
                version = self._referenced_version(source)
            except KfpError as error:
                raise internal_error(f"Failed to create a {kind} due to error fetching manifest: "
                                     f"{error.internal}") from None
            pipeline = self.lookup(version.pipeline_id)
            if not bugs.on(self.state.config, "ISO-007"):
                # ISO-007: up to 2.17 the referenced version was loaded without this check.
                self._authorize(creds, pipeline.namespace, "get", pipeline.name, pipeline.id)
            return PipelineSource(
                pipeline_spec=version.pipeline_spec,
                workflow_manifest=version.workflow_manifest,
                pipeline_id=pipeline.id,
                pipeline_version_id=version.id,
                pipeline_name=version.name,
                parameters=source.parameters,
                runtime_parameters=source.runtime_parameters,
                pipeline_root=source.pipeline_root,
                platform_spec=version.platform_spec,
            )
        wrapped = source.pipeline_spec
        if isinstance(wrapped, dict) and isinstance(wrapped.get("pipeline_spec"), dict):
            # The struct form {"pipeline_spec": ..., "platform_spec": ...} (kfp.Client sends it
            # when a pipeline has kfp-kubernetes settings); it is echoed back as given.
            platform = wrapped.get("platform_spec")
            source.platform_spec = platform if isinstance(platform, dict) else None
        if source.pipeline_spec is None and not source.workflow_manifest and \
                not source.pipeline_manifest:
            raise internal_error(f"Failed to create a {kind} due to error fetching manifest: "
                                 "Invalid input error: Failed to fetch a template with an empty "
                                 "pipeline spec manifest")
        if source.pipeline_spec is None:
            try:
                parsed = parse_template(source.pipeline_manifest or source.workflow_manifest)
            except KfpError as error:
                raise internal_error(f"Failed to create a {kind} due to error fetching manifest: "
                                     f"{error.internal}") from None
            source.pipeline_spec = parsed.spec
            source.platform_spec = parsed.platform_spec
        return source

    def _referenced_version(self, source: PipelineSource) -> PipelineVersion:
        if source.pipeline_version_id:
            version = self.lookup_version(source.pipeline_version_id)
            if source.pipeline_id and version.pipeline_id != source.pipeline_id:
                raise invalid_input(f"Pipeline version {version.id} belongs to pipeline "
                                    f"{version.pipeline_id} (not {source.pipeline_id})")
            return version
        self.lookup(source.pipeline_id)
        latest = self.state.versions.latest(source.pipeline_id)
        if latest is None:
            raise not_found("PipelineVersion", f"latest of pipeline {source.pipeline_id}")
        return latest
