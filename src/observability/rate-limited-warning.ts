/** What a warning is written to; pino's loggers fit. */
export interface WarningLog {
  warn(details: object, message: string): void
}

/**
 * A warning for a condition that repeats while it lasts (a dependency down, retried every
 * fraction of a second): the first at once, then at most one per interval, each counting
 * the ones held back, so an outage is visible without flooding the log.
 */
export function rateLimitedWarning(log: WarningLog, everyMs: number) {
  let lastAt = Number.NEGATIVE_INFINITY
  let suppressed = 0

  return (error: unknown, message: string) => {
    const now = Date.now()
    if (now - lastAt < everyMs) {
      suppressed++
      return
    }
    lastAt = now
    log.warn({ err: error, suppressed }, message)
    suppressed = 0
  }
}
