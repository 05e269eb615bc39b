# syntax=docker/dockerfile:1
# The image the Helm chart (charts/iredmail-ports) runs: the release binary, linked
# statically against musl, alone on distroless/static, as the non-root user 65532.
#
#   docker build -t registry.example.com/iredmail-ports:0.1.0 .
#   helm install iredmail-ports charts/iredmail-ports -n iredmail-ports --create-namespace \
#     --set image.repository=registry.example.com/iredmail-ports
#
# Built for the platform it runs on (docker buildx --platform linux/amd64,linux/arm64 works
# through emulation): the musl target is the build machine's own architecture.

ARG RUST_VERSION=1.89

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
# musl-gcc builds ring's C and assembly for the static target.
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/*
RUN rustup target add "$(uname -m)-unknown-linux-musl"
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    target="$(uname -m)-unknown-linux-musl" \
 && cargo build --release --locked --bin iredmail-ports --target "$target" \
 && install -D -m 0755 "target/$target/release/iredmail-ports" /out/iredmail-ports \
 && strip /out/iredmail-ports

# No shell, no libc, no package manager: only the binary and CA certificates.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/iredmail-ports /usr/local/bin/iredmail-ports
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/iredmail-ports"]
CMD ["serve", "--listen", "0.0.0.0:8443", "--tls-cert", "/tls/tls.crt", "--tls-key", "/tls/tls.key"]
