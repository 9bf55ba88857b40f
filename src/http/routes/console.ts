import { existsSync } from 'node:fs'
import { join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'
import { PUBLIC } from '../access.js'
import { sendProblem } from '../problem.js'

export interface ConsoleOptions {
  /** The folder Vite builds the console into. */
  root: string
}

/**
 * The browser console at /, as static files: public, since the page itself holds nothing;
 * what it shows comes from the API, with the credential the person signs in with.
 */
export const consoleRoutes: FastifyPluginAsync<ConsoleOptions> = async (app, { root }) => {
  if (!existsSync(join(root, 'index.html'))) {
    // The same route as the built console's, so the API looks the same either way.
    app.get('/*', { config: { access: PUBLIC }, schema: { hide: true } }, (request, reply) => {
      if (request.url !== '/') return reply.callNotFound()
      return sendProblem(reply, request, {
        status: 404,
        code: 'CONSOLE_NOT_BUILT',
        detail: 'The console has not been built; run npm run build (npm start does it).',
      })
    })
    return
  }
  await app.register(fastifyStatic, {
    root,
    // Assets carry a content hash in their names; the page itself must always be fresh.
    setHeaders: (response, path) => {
      const page = path.endsWith('.html')
      response.setHeader('cache-control', page ? 'no-cache' : 'public, max-age=31536000, immutable')
    },
  })
}
