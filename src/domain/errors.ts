/** A request the rules refuse; the HTTP layer maps each kind to a status. */
export class DomainError extends Error {
  constructor(
    /** A stable code clients can match on. */
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export class NotFoundError extends DomainError {
  override name = 'NotFoundError'
}

/** The thing exists, but its state does not allow the request. */
export class ConflictError extends DomainError {
  override name = 'ConflictError'
}

export class InvalidInputError extends DomainError {
  override name = 'InvalidInputError'
}

/** Well-formed, but contradicts what the service already holds (e.g. a reused key). */
export class UnprocessableError extends DomainError {
  override name = 'UnprocessableError'
}

/** No credential, or one that is malformed, unknown, revoked or expired: never says which. */
export class UnauthenticatedError extends DomainError {
  override name = 'UnauthenticatedError'
}

/** The caller is known, but their role (or ownership) does not allow the request. */
export class ForbiddenError extends DomainError {
  override name = 'ForbiddenError'
}

/** Too many failed sign-ins for a person or an address; try again after `retryAfterS`. */
export class TooManyAttemptsError extends DomainError {
  override name = 'TooManyAttemptsError'

  constructor(
    code: string,
    message: string,
    readonly retryAfterS: number,
  ) {
    super(code, message)
  }
}

/** The service cannot take the request right now (503); nothing was changed. */
export class UnavailableError extends DomainError {
  override name = 'UnavailableError'
}
