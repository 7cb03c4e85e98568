# The kfp-isolation conformance suite (with the kfp SDK), for certifying a deployment from a pod
# inside it (`kfp-isolation certify --in-cluster`) or from anywhere Docker runs.
# Build from the repository root:
#   docker build -f docker/suite.Dockerfile --build-arg VERSION=0.1.0 \
#       -t ghcr.io/kfp-isolation/suite:0.1.0 .
# Run:  docker run --rm IMAGE certify --profile core       (default command: certify)

# ---- builder: the project's wheel (setuptools, pip's isolated build) ----------------------------
FROM python:3.11-slim AS builder
WORKDIR /src
COPY pyproject.toml README.md ./
COPY emulator ./emulator
COPY conformance ./conformance
COPY steps ./steps
COPY features ./features
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

# ---- runtime: the wheel (features included) with the sdk extra -----------------------------------
FROM python:3.11-slim
ARG VERSION=0.1.0
# The kfp SDK the suite's SDK scenarios drive: the release the project's tests run (tox kfp2).
ARG KFP_SDK_VERSION=2.17.3
ARG REVISION=""
ARG SOURCE=""
LABEL org.opencontainers.image.title="kfp-isolation suite" \
      org.opencontainers.image.description="Conformance suite for Kubeflow Pipelines multi-user isolation: kfp-isolation certify" \
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
RUN set -e; wheel="$(ls /tmp/dist/*.whl)"; python -m pip install "${wheel}[sdk]" "kfp==${KFP_SDK_VERSION}" \
    && python -m pip uninstall --yes setuptools wheel \
    && rm -rf /tmp/dist
USER 10001:10001
WORKDIR /home/kfp
# A batch image: the container runs one certification and exits; its exit code is the verdict
# (0 pass, 1 fail, 2 error) and a Kubernetes Job ignores Docker health checks anyway.
HEALTHCHECK NONE
ENTRYPOINT ["kfp-isolation"]
CMD ["certify"]
