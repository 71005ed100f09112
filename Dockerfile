# Pipewright: one static-ish binary on a slim Debian base.
#   docker build -t pipewright .
#   docker run -p 8080:8080 -v pipewright-data:/data pipewright serve --demo
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin pipewright \
 && cp target/release/pipewright /usr/local/bin/pipewright

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /data --create-home pipewright
COPY --from=build /usr/local/bin/pipewright /usr/local/bin/pipewright
USER pipewright
ENV PIPEWRIGHT_DATA_DIR=/data \
    PIPEWRIGHT_BIND=0.0.0.0:8080
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["pipewright"]
CMD ["serve"]
