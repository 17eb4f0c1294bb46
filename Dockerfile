# kefu — one image with every kefu binary (kefuctl, kefu-intake, ...);
# docker-compose.yml picks the command per service.
#
# Base images are made locally (nothing can be pulled on our machines):
#   deploy/docker/make-base-images      # debian:bookworm, debian:bookworm-slim
#   docker build -t kefu:dev .
# See deploy/docker/README.md.

# ---------------------------------------------------------------- build ----
FROM debian:bookworm AS build

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libzmq3-dev libczmq-dev libprotobuf-c-dev protobuf-c-compiler \
      libpq-dev libjansson-dev libcmocka-dev libmicrohttpd-dev libsodium-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . /src

# Extra CMake configure arguments, e.g.
#   --build-arg KEFU_CMAKE_ARGS="-DKEFU_SANITIZE=ON"
ARG KEFU_CMAKE_ARGS=""
# The install prefix is also given at configure time so that anything derived
# from CMAKE_INSTALL_* (sysconfdir, datadir) points into /opt/kefu.
RUN cmake -S . -B /build \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_INSTALL_PREFIX=/opt/kefu \
      -DKEFU_BUILD_TESTS=OFF -DKEFU_BUILD_BENCH=OFF \
      $KEFU_CMAKE_ARGS \
 && cmake --build /build -j "$(nproc)" \
 && cmake --install /build --prefix /opt/kefu \
 && rm -rf /opt/kefu/include /opt/kefu/lib   # gateway SDK (headers, static libs): not needed at run time

# -------------------------------------------------------------- runtime ----
FROM debian:bookworm-slim

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libzmq5 libczmq4 libprotobuf-c1 libpq5 libjansson4 libmicrohttpd12 libsodium23 \
      tzdata ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && v=$(dpkg-query -W -f '${Version}' libzmq5) \
 && if ! dpkg --compare-versions "$v" ge 4.3.4; then \
      echo "libzmq5 $v is older than 4.3.4 (CVE fixes and ZMQ_* options kefu needs)" >&2; exit 1; \
    fi \
 && groupadd --gid 10001 kefu \
 && useradd --uid 10001 --gid kefu --no-log-init --home-dir /var/lib/kefu --create-home \
      --shell /usr/sbin/nologin kefu

COPY --from=build /opt/kefu /opt/kefu
# The compose stack's key set-up (its one-shot `keys` service).
COPY deploy/docker/kefu-keys /opt/kefu/bin/kefu-keys
# Key directories, owned by kefu and private: a named volume mounted on one
# of them starts with this owner and mode. A service reads its key pair in
# keys/; the keys service writes each service's into setup/<service>/.
RUN install -d -o kefu -g kefu -m 0700 /var/lib/kefu/keys /var/lib/kefu/setup \
      /var/lib/kefu/setup/intake /var/lib/kefu/setup/routing /var/lib/kefu/setup/metrics \
      /var/lib/kefu/setup/ordersync /var/lib/kefu/setup/escalation

# Every binary must resolve all its shared libraries in this image.
RUN set -e; for b in /opt/kefu/bin/*; do \
      if ldd "$b" | grep -q 'not found'; then ldd "$b" >&2; exit 1; fi; \
    done; ls -l /opt/kefu/bin

ENV PATH=/opt/kefu/bin:$PATH \
    KEFU_LOG_FORMAT=json

USER kefu
WORKDIR /var/lib/kefu
CMD ["kefuctl", "--help"]
