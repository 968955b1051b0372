import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The outpost API the dev server forwards to (`npm run dev`); the built portal is served by
// outpost itself, so the proxy only matters during development.
const api = process.env.OUTPOST_URL ?? "http://127.0.0.1:3333";

export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
  },
  server: {
    proxy: {
      "/api": api,
      "/inject-portal-config.js": api,
    },
  },
});
