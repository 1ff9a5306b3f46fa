# Convoy's image: `convoy` with git, ssh and kustomize, as an unprivileged user.
#   docker build -t convoy:0.1.0 .
# The builder uses the pinned toolchain (rust-toolchain / rust-version 1.95) and Cargo.lock.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p convoy \
 && install -D -m 0755 target/release/convoy /out/convoy

FROM debian:bookworm-slim AS kustomize
ARG KUSTOMIZE_VERSION=5.4.3
ARG TARGETARCH=amd64
# Checked against the release's published checksums (pass your own pinned sum through a
# build argument and `sha256sum -c` to guard against a replaced release too).
RUN apt-get update -q && apt-get install -y -q --no-install-recommends ca-certificates curl \
 && base="https://github.com/kubernetes-sigs/kustomize/releases/download/kustomize%2Fv${KUSTOMIZE_VERSION}" \
 && file="kustomize_v${KUSTOMIZE_VERSION}_linux_${TARGETARCH}.tar.gz" \
 && cd /tmp && curl -fsSLO "$base/$file" && curl -fsSLO "$base/checksums.txt" \
 && sha256sum -c --ignore-missing checksums.txt | grep -q "^$file: OK$" \
 && tar -xzf "$file" -C /usr/local/bin kustomize

FROM debian:bookworm-slim
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends ca-certificates git openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 convoy \
 && useradd --uid 10001 --gid 10001 --home-dir /var/lib/convoy --create-home --shell /usr/sbin/nologin convoy
COPY --from=kustomize /usr/local/bin/kustomize /usr/local/bin/kustomize
COPY --from=build /out/convoy /usr/local/bin/convoy
USER 10001:10001
ENV CONVOY_DATA_DIR=/var/lib/convoy/data
EXPOSE 7070 9090
ENTRYPOINT ["convoy"]
CMD ["server", "--listen=0.0.0.0:7070", "--metrics-listen=0.0.0.0:9090"]
