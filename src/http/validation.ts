import { Ajv } from 'ajv'
import formatsPlugin from 'ajv-formats'
import type { FastifyInstance } from 'fastify'

/**
 * Two validators. Path and query values arrive as text and are coerced to the declared
 * types; a JSON body is taken as sent, so {"person_id": "1"} is a wrong type, not an id.
 */
// ajv-formats is CommonJS; its function is the module's default export.
const addFormats = formatsPlugin.default

export function registerValidators(app: FastifyInstance): void {
  const common = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false }
  const bodies = addFormats(new Ajv({ ...common, coerceTypes: false }))
  const textParts = addFormats(new Ajv({ ...common, coerceTypes: 'array' }))

  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodies : textParts).compile(schema),
  )
}
