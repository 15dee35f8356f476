# Streaming scorer for the EKS stack: `vigil serve` on the same core and handler code as the Lambdas.
# Multi-stage: build an esbuild bundle with dev dependencies, ship only production dependencies.

# ---- build ----
FROM node:22.20.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY lambdas ./lambdas
COPY local ./local
COPY models ./models
# Dependencies stay external (installed below), so native/wasm packages resolve from node_modules.
RUN npx esbuild bin/vigil.ts --bundle --platform=node --target=node22 --format=esm \
      --packages=external --sourcemap --outfile=dist/vigil.mjs

# ---- runtime ----
FROM node:22.20.0-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/models ./models
# Same uid/gid as the Deployment's securityContext (runAsUser 10001); no shell login, no home writes.
RUN groupadd --system --gid 10001 vigil && useradd --system --uid 10001 --gid vigil --no-create-home vigil
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/vigil.mjs"]
CMD ["serve", "--aws", "--host", "0.0.0.0"]
