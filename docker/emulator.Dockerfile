# The kfp-isolation emulator: the in-memory multi-user KFP deployment on its five fixed ports.
# Build from the repository root:
#   docker build -f docker/emulator.Dockerfile --build-arg VERSION=0.1.0 \
#       -t ghcr.io/kfp-isolation/emulator:0.1.0 .
# Run:  docker run --rm -p 8888:8888 -p 8080:8080 -p 6443:6443 -p 9000:9000 -p 9090:9090 IMAGE
# The target file (login users and passwords) and the admin kubeconfig are written inside the
# container at start, never baked into the image: read them with
#   docker exec CONTAINER cat /home/kfp/kfp-isolation-target.yaml

# ---- builder: the project's wheel (setuptools, pip's isolated build) ----------------------------
FROM python:3.11-slim AS builder
WORKDIR /src
COPY pyproject.toml README.md ./
COPY emulator ./emulator
COPY conformance ./conformance
COPY steps ./steps
COPY features ./features
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

# ---- runtime: the wheel and its dependencies only -----------------------------------------------
FROM python:3.11-slim
ARG VERSION=0.1.0
ARG REVISION=""
ARG SOURCE=""
LABEL org.opencontainers.image.title="kfp-isolation emulator" \
      org.opencontainers.image.description="In-memory multi-user Kubeflow Pipelines deployment (KFP API, gateway with login, Kubernetes API slice, S3, ML Metadata) for isolation tests" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --gid 10001 kfp \
    && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/kfp \
       --shell /usr/sbin/nologin kfp
# Only the wheel comes from the builder (COPY --from rather than RUN --mount: any builder,
# BuildKit or not, kaniko, podman).  setuptools and wheel, build tools the base image ships,
# go: nothing at run time needs them.
COPY --from=builder /dist/ /tmp/dist/
RUN python -m pip install /tmp/dist/*.whl \
    && python -m pip uninstall --yes setuptools wheel \
    && rm -rf /tmp/dist
USER 10001:10001
WORKDIR /home/kfp
EXPOSE 8888 8080 6443 9000 9090
# Only what the image holds: its own python and the standard library.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8888/apis/v2beta1/healthz', timeout=4)"]
ENTRYPOINT ["kfp-isolation", "serve", "--host", "0.0.0.0", "--port", "8888", "--gateway-port", "8080", "--kube-port", "6443", "--object-store-port", "9000", "--metadata-port", "9090", "--write-target", "/home/kfp/kfp-isolation-target.yaml"]
CMD []
