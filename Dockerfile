# kgate container image: the static binary only, on an empty base.
#
#   docker build -t kgate .
#   docker run --rm -v "$PWD:/work" -w /work kgate check .
#
# The release workflow builds the binary for linux/amd64 and linux/arm64 and passes it in
# (`--build-arg BINARY=...`); without it the binary is built here with the musl target.
FROM rust:1-alpine AS build
RUN apk add --no-cache musl-dev make perl
WORKDIR /src
COPY . .
ARG BINARY=""
RUN if [ -n "$BINARY" ] && [ -f "$BINARY" ]; then \
      install -m 0755 "$BINARY" /kgate; \
    else \
      cargo build --locked --release && install -m 0755 target/release/kgate /kgate; \
    fi

FROM scratch
COPY --from=build /kgate /kgate
# kgate is offline by design: no certificates, no shell, nothing else in the image.
WORKDIR /work
ENTRYPOINT ["/kgate"]
CMD ["check", "."]
