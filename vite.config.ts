import { defineConfig } from 'vite'

// The console is plain TypeScript and CSS; the service serves the built files from dist/web.
export default defineConfig({
  root: 'web',
  build: { outDir: '../dist/web', emptyOutDir: true, target: 'es2022' },
})
