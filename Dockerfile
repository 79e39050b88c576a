# mic-fs daemon image: Debian bookworm, Node 20.
#   docker build -t mic-fs .
#   docker run -d -p 2049:2049 -v mic-data:/data mic-fs
#   docker run --rm -v mic-data:/data mic-fs node dist/src/cli/main.js project init acme/app --from /src
# MOUNT and NFS share one TCP port (2049). Clients outside 127.0.0.0/8 must be allowed with
# MIC_ALLOW (CIDRs, e.g. -e MIC_ALLOW=10.0.0.0/8); the default allows loopback only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# zstd-napi may build from source (node-gyp): needs python3, make, g++
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY rpc ./rpc
COPY util ./util
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    MIC_DATA_DIR=/data \
    MIC_PORT=2049
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data
VOLUME ["/data"]
EXPOSE 2049
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/cli/main.js", "serve", "--bind", "0.0.0.0"]
