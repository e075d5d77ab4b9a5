/**
 * vite's configuration of the web app: one page (app/index.html) and its modules, bundled with
 * the toolkit modules they import (scripts/chain, scripts/circuit, scripts/model) into
 * build/app/. app/serve.ts builds with it; `npx vite build --config app/vite.config.ts` does too.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const APP_DIR = path.dirname(fileURLToPath(import.meta.url));

/** Where the built page goes (git-ignored, like every build output). */
export const APP_BUILD_DIR = path.resolve(APP_DIR, "..", "build", "app");

export default defineConfig({
  root: APP_DIR,
  base: "./",
  build: {
    outDir: APP_BUILD_DIR,
    emptyOutDir: true,
    target: "es2022",
    // ethers, Poseidon's round constants and the contracts' ABIs: one page, loaded once.
    chunkSizeWarningLimit: 2048,
  },
});
