# syntax=docker/dockerfile:1
#
# weightinit: multi-stage image.
#   docker build -t weightinit .
#   docker run --rm -p 8080:8080 -p 8081:8081 weightinit
#
# The build stage compiles a release binary with the Swift runtime linked in statically; the runtime stage
# is debian:bookworm-slim plus only the shared libraries that binary needs (scripts/lint.sh checks this
# list against `ldd` of the release binary). x86-64 builds target Haswell (AVX2 + FMA, see Package.swift):
# the image needs an x86-64-v3 CPU.

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------------------
FROM ${SWIFT_IMAGE} AS build

# Headers and pkg-config files of the C libraries (the Swift image brings the toolchain). libcurl: the
# statically linked FoundationNetworking (Pretrained URL downloads) links -lcurl.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmicrohttpd-dev libjansson-dev pkg-config zlib1g-dev \
      libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Dependencies first, so that source edits do not invalidate the resolved packages layer.
COPY Package.* ./
RUN swift package resolve

# SwiftPM validates every declared target, test targets included, so Tests/ is part of the context.
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product weightinit \
 && install -D -m 0755 "$(swift build -c release --static-swift-stdlib --product weightinit --show-bin-path)/weightinit" \
      /out/usr/local/bin/weightinit \
 && strip /out/usr/local/bin/weightinit

# ---------------------------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime

# Runtime libraries only: libmicrohttpd (HTTP), jansson (JSON), zlib (the PyTorch zip writer/reader),
# libcurl + ca-certificates (FoundationNetworking: Pretrained downloads from --allow-checkpoint-url-prefix
# over https). libc6/libstdc++6/libgcc-s1 come with the base image.
# Versions are not pinned on purpose: bookworm's point releases and security updates replace them.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libmicrohttpd12 libjansson4 zlib1g libcurl4 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 weightinit \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin weightinit \
 && install -d -o 10001 -g 10001 -m 0755 /checkpoints

COPY --from=build /out/usr/local/bin/weightinit /usr/local/bin/weightinit

# Numeric ids, so Kubernetes' runAsNonRoot can verify them.
USER 10001:10001

ENV WEIGHTINIT_PORT=8080 \
    WEIGHTINIT_OPS_PORT=8081 \
    WEIGHTINIT_LOG_FORMAT=json

EXPOSE 8080 8081

# Liveness on the ops port without curl: Debian's bash opens TCP connections through /dev/tcp.
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${WEIGHTINIT_OPS_PORT:-8081} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && timeout 2 head -n 1 <&3 | grep -q ' 200 '"]

# SIGTERM drains (readiness fails, streams get --shutdown-grace seconds); the binary is PID 1 and
# handles signals itself.
STOPSIGNAL SIGTERM
ENTRYPOINT ["weightinit", "serve", "--host", "0.0.0.0"]
