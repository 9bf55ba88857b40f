import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  ConflictError,
  DomainError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  TooManyAttemptsError,
  UnauthenticatedError,
  UnavailableError,
} from '../domain/errors.js'

export interface ProblemBody {
  type: string
  title: string
  status: number
  detail: string
  instance: string
  code: string
  errors?: { pointer: string; detail: string }[]
}

interface AjvIssue {
  instancePath: string
  message?: string
  keyword: string
  params: Record<string, unknown>
}

export type DatabaseFailure = 'outcome_unknown' | 'unavailable' | 'busy'

/** Thrown by our own parsers and hooks when the answer is a plain HTTP status. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail)
  }
}

export function sendProblem(
  reply: FastifyReply,
  request: FastifyRequest,
  problem: Omit<ProblemBody, 'type' | 'title' | 'instance'>,
): FastifyReply {
  const body: ProblemBody = {
    type: 'about:blank',
    title: STATUS_CODES[problem.status] ?? 'Error',
    instance: request.url,
    ...problem,
  }

  return reply.status(problem.status).type('application/problem+json').send(body)
}

/**
 * Every error leaves as RFC 9457 problem+json with a sentence a person can act on. Internal
 * details (SQL, stacks) are logged with the request id and never sent.
 */
export function registerProblemHandlers(
  app: FastifyInstance,
  classifyDatabaseFailure: (error: unknown) => DatabaseFailure | null,
): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = describe(error, classifyDatabaseFailure, app.initialConfig.bodyLimit)
    // A refusal the rules chose (SIGN_IN_BUSY) is not a fault: no stack, no error level.
    if (problem.status >= 500 && !(error instanceof DomainError)) {
      request.log.error({ err: error, code: problem.code }, 'request failed')
    } else if (problem.status >= 500) {
      request.log.warn({ code: problem.code, status: problem.status }, 'request refused')
    } else {
      request.log.info({ code: problem.code, status: problem.status }, 'request refused')
    }
    if (problem.status === 503) reply.header('retry-after', '5')
    if (error instanceof TooManyAttemptsError) reply.header('retry-after', error.retryAfterS)
    if (error instanceof UnauthenticatedError) reply.header('www-authenticate', 'Bearer')

    return sendProblem(reply, request, problem)
  })

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, request, {
      status: 404,
      code: 'NO_SUCH_ROUTE',
      detail: `There is no ${request.method} ${request.url.split('?')[0]}; see /docs for the API.`,
    }),
  )
}

function describe(
  error: FastifyError,
  classifyDatabaseFailure: (error: unknown) => DatabaseFailure | null,
  bodyLimit = 0,
): Omit<ProblemBody, 'type' | 'title' | 'instance'> {
  if (error.validation) return describeValidation(error)
  if (error instanceof DomainError) {
    return { status: statusOf(error), code: error.code, detail: error.message }
  }
  if (error instanceof HttpProblem) {
    return { status: error.status, code: error.code, detail: error.message }
  }
  const databaseFailure = classifyDatabaseFailure(error)
  if (databaseFailure === 'outcome_unknown') {
    return {
      status: 503,
      code: 'OUTCOME_UNKNOWN',
      detail:
        'The database connection broke while this change was being committed, so it may or ' +
        'may not have been applied. Read the current state, or retry with the same ' +
        'Idempotency-Key, before sending it again.',
    }
  }
  if (databaseFailure === 'unavailable') {
    return {
      status: 503,
      code: 'DATABASE_UNAVAILABLE',
      detail: 'The database cannot be reached right now; nothing was changed. Retry shortly.',
    }
  }
  if (databaseFailure === 'busy') {
    return {
      status: 503,
      code: 'DATABASE_BUSY',
      detail: 'The database stayed too busy to finish this request; nothing was changed. Retry.',
    }
  }

  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        code: 'BODY_TOO_LARGE',
        detail: `The request body is larger than the ${bodyLimit} bytes this service accepts.`,
      }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        detail: 'The body must be JSON; send it with Content-Type: application/json.',
      }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        code: 'EMPTY_BODY',
        detail: 'Content-Type says JSON but the body is empty; send a JSON object.',
      }
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return {
        status: 400,
        code: 'MALFORMED_JSON',
        detail: `The body is not valid JSON (${error.message}); send a JSON object.`,
      }
  }

  const status = error.statusCode ?? 500
  if (status >= 400 && status < 500) {
    return { status, code: error.code ?? 'BAD_REQUEST', detail: error.message }
  }

  return {
    status: 500,
    code: 'INTERNAL_ERROR',
    detail: 'The service failed to handle this request; it has been logged. Retry shortly.',
  }
}

function statusOf(error: DomainError): number {
  if (error instanceof NotFoundError) return 404
  if (error instanceof ConflictError) return 409
  if (error instanceof InvalidInputError) return 400
  if (error instanceof UnauthenticatedError) return 401
  if (error instanceof ForbiddenError) return 403
  if (error instanceof TooManyAttemptsError) return 429
  if (error instanceof UnavailableError) return 503

  return 422
}

function describeValidation(error: FastifyError) {
  const part = error.validationContext ?? 'request'
  const issues = (error.validation ?? []) as AjvIssue[]
  const errors = issues.map((issue) => ({
    pointer: `#${issue.instancePath}`,
    detail: explainIssue(part, issue),
  }))

  return {
    status: 400,
    code: 'VALIDATION_FAILED',
    detail: errors.map((e) => e.detail).join('; ') || error.message,
    errors,
  }
}

function explainIssue(part: string, issue: AjvIssue): string {
  const field = issue.instancePath ? issue.instancePath.slice(1).replaceAll('/', '.') : ''
  const where = field ? `${part} field '${field}'` : part
  if (issue.keyword === 'required') {
    return `${part} is missing the required field '${String(issue.params.missingProperty)}'`
  }
  if (issue.keyword === 'additionalProperties') {
    return `${where} has an unknown field '${String(issue.params.additionalProperty)}'`
  }
  if (issue.keyword === 'pattern' && issue.params.pattern === '\\S') {
    return `${where} must not be blank`
  }
  if (issue.keyword === 'enum') {
    const allowed = (issue.params.allowedValues as unknown[]).map(String).join(', ')

    return `${where} must be one of ${allowed}`
  }
  if (issue.keyword === 'format' && issue.params.format === 'row-id') {
    return `${where} must be a whole number from 1 to 2147483647, written in decimal`
  }

  return `${where} ${issue.message ?? 'is invalid'}`
}
