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
