# syntax=docker/dockerfile:1
# The one streamkeeper image: `streamkeeper operator | driver | executor` (the first argument).
#
#   docker build -t streamkeeper/streamkeeper:$(node -p 'require("./package.json").version') .
#
# The bases are build arguments (`--build-arg BUILD_BASE=… --build-arg RUNTIME_BASE=…`, e.g. a
# mirror or a digest). Both must carry the same Node.js major (the native addon's ABI) and the
# same Debian release (the glibc and libstdc++ it links against).
ARG BUILD_BASE=node:24-bookworm-slim
ARG RUNTIME_BASE=gcr.io/distroless/nodejs24-debian12:nonroot

# Build stage: the `zookeeper` package compiles a native addon at install time (node-gyp needs
# python3, make and g++), and so does the Kafka client, librdkafka, linked against Debian's
# OpenSSL, zlib, zstd, SASL2 and LZ4 (tools/kafka-client/install.sh, npm's postinstall); the
# TypeScript build needs the dev dependencies, pruned afterwards.
FROM ${BUILD_BASE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ pkg-config \
      libssl-dev zlib1g-dev libzstd-dev libsasl2-dev liblz4-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# node-gyp compiles against the headers shipped with this Node.js instead of downloading them.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
COPY tools/lib/ tools/lib/
COPY tools/kafka-client/ tools/kafka-client/
# npm's prepare step rebuilds the zookeeper addon with its fixes: reconnect and socket poll (tools/node/runtime.mjs).
COPY tools/node/runtime.mjs tools/node/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
COPY bin/ bin/
COPY crds/ crds/
# prune drops the Kafka client npm does not know of; the installer puts it back from its cache,
# built for this stage's Node.js only (its cache may hold builds for other Node ABIs too).
# librdkafka's shared libraries beyond what distroless carries (glibc, libstdc++, OpenSSL) go
# next to it, found through LD_LIBRARY_PATH below.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && bash tools/kafka-client/install.sh --only-this-node \
 && for lib in libsasl2.so.2 libzstd.so.1 liblz4.so.1 libz.so.1; do \
      cp -L "$(ldconfig -p | awk -v lib=$lib '$1 == lib { print $NF; exit }')" node_modules/@confluentinc/kafka-javascript/lib/binding/deps/; \
    done \
 && rm -f dist/.tsbuildinfo

# Runtime stage: distroless Node.js 24 on Debian 12, the same glibc (2.36) and libstdc++ the
# addon was built against in bookworm above; Node.js 24 keeps one addon ABI across its releases.
# No shell, no package manager, nothing but what runs; its user 65532 is "nonroot".
FROM ${RUNTIME_BASE}
WORKDIR /app
ENV NODE_ENV=production
ENV LD_LIBRARY_PATH=/app/node_modules/@confluentinc/kafka-javascript/lib/binding/deps
COPY --from=build /app/package.json ./
COPY --from=build /app/bin/ bin/
COPY --from=build /app/dist/ dist/
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/crds/ crds/
USER 65532:65532
# Pods pass only arguments (operator, driver, executor and their flags), never a command.
ENTRYPOINT ["/nodejs/bin/node", "/app/bin/streamkeeper.js"]
