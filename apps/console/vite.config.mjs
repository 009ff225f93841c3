// The console is a static single-page app the gateway serves at /console (same origin: no
// CORS). `node tools/build.mjs` runs this build; `vite build` alone works too.
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [react()],
  // @maas/sdk (the console's one lib) from its sources, as tsc sees it: no build order.
  resolve: { conditions: ['maas-source', ...defaultClientConditions] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Every asset is a file under /console/assets/ (no data: URLs), so the gateway's
    // Content-Security-Policy can name 'self' alone for images and fonts.
    assetsInlineLimit: 0,
    // The gateway serves assets with a year-long immutable cache: file names carry their hash.
    assetsDir: 'assets',
    sourcemap: false,
    target: 'es2022',
    // No inline module preload polyfill: the CSP has no 'unsafe-inline' for scripts.
    modulePreload: { polyfill: false },
    // The SDK's Node-only upload path imports these lazily; the console never reaches it.
    rollupOptions: { external: ['node:fs', 'node:stream'] },
  },
});
