# mic-fs daemon image: Debian bookworm, Node 20, runs as the unprivileged user "node" (uid 1000).
#   docker build -t mic-fs .
#   docker run -d --name mic -p 2049:2049 -v mic-data:/data -e MIC_ALLOW=10.0.0.0/8 mic-fs
#   docker exec mic node dist/src/cli/main.js project init acme/app --from /src     (with -v ./src:/src:ro)
# MOUNT and NFS share one TCP port (2049). Clients outside 127.0.0.0/8 must be allowed with
# MIC_ALLOW (CIDRs); the default allows loopback only. Mounting without port options needs the
# portmapper on 111 (see docs/deploy.md: --portmap, and how an unprivileged user binds port 111).
# Tested by scripts/image-test.sh (buildah, a Debian base made with debootstrap).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# zstd-napi may build from source (node-gyp), native/ (the sendfile addon) always does: python3, make, g++
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY rpc ./rpc
COPY util ./util
COPY util ./util
COPY src ./src
# the web UI, bundled by scripts/build-ui.mjs into dist/ui-assets
COPY ui ./ui
COPY native ./native
COPY scripts/build-ui.mjs scripts/build-native.mjs ./scripts/
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    MIC_DATA_DIR=/data \
    MIC_PORT=2049 \
    MIC_LOG_FORMAT=json
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
# 2049: MOUNT + NFS; 2050: HTTP API and /metrics (MIC_API_BIND=0.0.0.0 needs MIC_API_TOKEN); 111: --portmap
EXPOSE 2049 2050 111 111/udp
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "dist/src/cli/main.js", "doctor", "--ports-only"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/cli/main.js", "serve", "--bind", "0.0.0.0"]
