import type { FastifyInstance } from 'fastify'
import { HttpProblem } from './problem.js'

/**
 * The original usage examples post JSON with `curl -d` and no Content-Type, which curl sends
 * as application/x-www-form-urlencoded. A body under any type but JSON is therefore taken
 * when it parses as JSON, and refused with 415 when it does not.
 */
export function registerLenientJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser(['text/plain'])
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const text = String(body)
    if (text.trim() === '') return done(null, undefined)
    try {
      done(null, JSON.parse(text))
    } catch {
      const sent = request.headers['content-type'] ?? 'no Content-Type'
      done(
        new HttpProblem(
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          `The body was sent as ${sent} and is not JSON; ` +
            'send a JSON object with Content-Type: application/json.',
        ),
      )
    }
  })
}
