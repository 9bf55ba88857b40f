import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import formatsPlugin from 'ajv-formats'
import type { FastifyInstance } from 'fastify'

// ajv-formats is CommonJS; its function is the module's default export.
const addFormats = formatsPlugin.default

/** An OpenAPI extension keyword, so it survives Fastify's copies of the schema. */
export const BODY_IS_OPTIONAL = 'x-body-optional'

/** Lets a route be called with no body at all, or with one that fits `schema`. */
export function optionalBody<T extends object>(schema: T): T {
  return { ...schema, [BODY_IS_OPTIONAL]: true }
}

type Validator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null }

/**
 * Two validators. Path and query values arrive as text and are coerced to the declared
 * types; a JSON body is taken as sent, so {"person_id": "1"} is a wrong type, not an id.
 * A body schema marked with `optionalBody` accepts a request with no body at all.
 */
export function registerValidators(app: FastifyInstance): void {
  const common = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false }
  const bodies = addFormats(new Ajv({ ...common, coerceTypes: false }))
  const textParts = addFormats(new Ajv({ ...common, coerceTypes: 'array' }))
  textParts.addFormat('row-id', { type: 'string', validate: isRowId })

  app.setValidatorCompiler(({ schema, httpPart }) => {
    if (httpPart !== 'body') return textParts.compile(schema)
    const validate = bodies.compile(schema)

    return (schema as { [BODY_IS_OPTIONAL]?: boolean })[BODY_IS_OPTIONAL]
      ? allowingNoBody(validate)
      : validate
  })
}

const MAX_ROW_ID = 2_147_483_647

/** Plain decimal, as ids are written; the coercion numbers get would take 0x10 or 1e3 too. */
function isRowId(text: string): boolean {
  return /^[1-9][0-9]{0,9}$/.test(text) && Number(text) <= MAX_ROW_ID
}

function allowingNoBody(validate: ValidateFunction): Validator {
  const validator: Validator = (data) => {
    // Fastify hands a request without a body over as null.
    if (data === undefined || data === null) return true
    const valid = validate(data)
    validator.errors = validate.errors

    return valid
  }

  return validator
}
