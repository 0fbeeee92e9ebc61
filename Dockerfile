# backfilld on Debian bookworm. The packages come from scripts/install-deps.sh,
# the same list the README and CI use (no Docker engine runs in CI, so CI
# runs that script instead of `docker build`).

FROM debian:bookworm AS build
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN /src/scripts/install-deps.sh build
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DBACKFILLD_TESTS=OFF \
 && cmake --build /build --target backfilld

FROM debian:bookworm-slim
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh runtime \
 && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh \
 && useradd --system --no-create-home --shell /usr/sbin/nologin backfilld
COPY --from=build /build/backfilld /usr/local/bin/backfilld
COPY configs/backfilld.ini /etc/backfilld/backfilld.ini
USER backfilld
# GnuTLS initialises itself when loaded (libpq's LDAP and libcurl's RTMP
# support pull it in; backfilld's TLS is OpenSSL), ~0.7 MB that nothing uses.
# The libraries that do use it call gnutls_global_init() themselves.
ENV GNUTLS_NO_IMPLICIT_INIT=1
# /metrics, /healthz, /readyz (metrics.port). Set metrics.address to 0.0.0.0
# (BACKFILL_METRICS_ADDRESS, as docker-compose.yml does) for other
# containers to reach it; it stays on loopback otherwise.
EXPOSE 9464
# Ready = database reachable, LISTEN active, every role running; asked of
# the daemon's own /readyz by the binary itself, so the image needs no curl.
# The start period covers waiting for PostgreSQL and migrating.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/backfilld", "health"]
# SIGTERM drains in-flight jobs within shutdown.grace (30 s by default).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/backfilld"]
