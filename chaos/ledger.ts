import type { Outcome } from './http.js'

export type OpKind =
  | 'add-person'
  | 'create'
  | 'login'
  | 'logout'
  | 'heartbeat'
  | 'complete'
  | 'complete-twice'
  | 'login-twice'
  | 'list'

/** What the client asked, where, and how it ended. */
export interface Exchange {
  op: OpKind
  endpoint: string
  method: 'GET' | 'POST'
  path: string
  /** Statuses this request may get from a healthy service. */
  expected: readonly number[]
  outcome: Outcome
}

/** Every attempt at one task creation: the same description each time. */
export interface CreateRecord {
  description: string
  /** Sent with an Idempotency-Key, so that any failure may be retried. */
  keyed: boolean
  /** Ids the service answered 201 with (a replay answers the first one's id again). */
  ids: number[]
  /** Attempts the service refused in a way that promises nothing changed (4xx, its own 503). */
  refused: number
  /** Attempts whose fate the client cannot know: reset, timeout, a proxy's 502, a 500. */
  unknown: number
  /** Every attempt's x-request-id and kind, to find it in the service logs. */
  attempts: string[]
}

export const WRITES: ReadonlySet<OpKind> = new Set([
  'add-person',
  'create',
  'login',
  'logout',
  'heartbeat',
  'complete',
  'complete-twice',
  'login-twice',
])

/**
 * The name an outcome is counted under: "409", "503:DATABASE_UNAVAILABLE", "502:nginx",
 * "network:ECONNREFUSED". Successes are "ok".
 */
export function kindOf(outcome: Outcome): string {
  if (!outcome.ok) {
    if (outcome.error === 'timeout') return 'timeout'

    return `network:${outcome.error}${outcome.midAnswer ? ':mid-answer' : ''}`
  }
  if (outcome.status < 300) return 'ok'
  // No x-request-id: nginx's own error page, or an answer Fastify gave before our hooks ran.
  if (!outcome.fromService) {
    return `${outcome.status}:${outcome.contentType.includes('html') ? 'nginx' : 'no-request-id'}`
  }
  if (outcome.status < 500) return String(outcome.status)
  if (!outcome.contentType.startsWith('application/problem+json')) {
    return `${outcome.status}:not-problem+json`
  }

  return `${outcome.status}:${outcome.body?.code ?? 'no-code'}`
}

/** True when the service itself said nothing changed; such an attempt may be retried. */
export function refusedCleanly(outcome: Outcome): boolean {
  if (!outcome.ok) return outcome.error === 'ECONNREFUSED'
  if (!outcome.fromService) return false

  if (outcome.status === 503) return outcome.body?.code !== 'OUTCOME_UNKNOWN'

  return outcome.status >= 400 && outcome.status < 500
}

/** Everything the simulated clients sent and were told, for the checks after a scenario. */
export class Ledger {
  readonly exchanges: Exchange[] = []
  readonly creates = new Map<string, CreateRecord>()
  readonly completedTwice: { taskId: number; kinds: [string, string] }[] = []
  readonly loggedInTwice: { personId: number; kinds: [string, string] }[] = []
  operations = 0

  record(exchange: Exchange): void {
    this.exchanges.push(exchange)
  }

  recordCreate(description: string, keyed: boolean, outcome: Outcome): void {
    const record = this.creates.get(description) ?? {
      description,
      keyed,
      ids: [],
      refused: 0,
      unknown: 0,
      attempts: [],
    }
    this.creates.set(description, record)
    record.attempts.push(`${outcome.requestId} ${kindOf(outcome)}`)
    if (outcome.ok && outcome.status === 201 && typeof outcome.body?.id === 'number') {
      record.ids.push(outcome.body.id)
    } else if (refusedCleanly(outcome)) {
      record.refused++
    } else {
      record.unknown++
    }
  }

  /** How many requests ended in each kind other than success. */
  errorsByKind(): Map<string, number> {
    const counts = new Map<string, number>()
    for (const { outcome } of this.exchanges) {
      const kind = kindOf(outcome)
      if (kind !== 'ok') counts.set(kind, (counts.get(kind) ?? 0) + 1)
    }

    return counts
  }

  /** Answers the service should never give, whatever the fault: 500s, odd statuses. */
  unexpectedAnswers(): Exchange[] {
    return this.exchanges.filter(({ outcome, expected }) => {
      if (!outcome.ok || !outcome.fromService) return false
      if (expected.includes(outcome.status)) return false

      // The database's own troubles; each scenario's allowedKinds says which it may cause.
      const code = String(outcome.body?.code)

      return !(
        outcome.status === 503 &&
        (code.startsWith('DATABASE_') || code === 'OUTCOME_UNKNOWN')
      )
    })
  }

  /** The first successful write answered at or after `since` (epoch ms), if any. */
  firstWriteSince(since: number, ops: ReadonlySet<OpKind> = WRITES): Exchange | undefined {
    return this.exchanges
      .filter((e) => ops.has(e.op) && finishedAt(e) >= since && kindOf(e.outcome) === 'ok')
      .sort((a, b) => finishedAt(a) - finishedAt(b))[0]
  }

  /** Exchanges that were in flight at any moment between `from` and `to`. */
  during(from: number, to: number): Exchange[] {
    return this.exchanges.filter((e) => e.outcome.startedAt <= to && finishedAt(e) >= from)
  }
}

export function finishedAt(exchange: Exchange): number {
  return exchange.outcome.startedAt + exchange.outcome.ms
}
