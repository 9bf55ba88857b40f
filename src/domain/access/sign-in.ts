import { setTimeout as sleep } from 'node:timers/promises'
import type { ThrottleRow } from '../../store/sign-in-throttle.js'
import type { Store } from '../../store/store.js'
import { fromDbTime, toDbTime } from '../../store/time.js'
import { TooManyAttemptsError, UnauthenticatedError } from '../errors.js'
import { verifyPin } from './secrets.js'

export interface SignInPolicy {
  /** Failed sign-ins for one person (or badge) before sign-in is refused for a while. */
  maxFailuresPerPerson: number
  /** The same for one client address, which many inspectors at a station may share. */
  maxFailuresPerAddress: number
  /** How long the failures count, and how long a refusal lasts. */
  lockoutS: number
  /** The delay added to the first failed answer; it doubles with each further failure. */
  baseDelayMs: number
  maxDelayMs: number
}

export type Who = { personId: number } | { badgeCode: string }

/** What a failed or refused attempt tells the metrics. */
export type SignInOutcome = 'signed_in' | 'failed' | 'refused'

/**
 * Checks an inspector's PIN, slowing down and then refusing repeated failures per person
 * and per client address. The counts live in the database, so every instance applies the
 * same limits; a correct PIN does not clear the address's count, so one known PIN cannot
 * be used to reset a guessing run against others.
 */
export class SignIn {
  constructor(
    private readonly store: Store,
    private readonly policy: SignInPolicy,
    private readonly clock: () => Date,
    private readonly onOutcome: (outcome: SignInOutcome) => void = () => {},
  ) {}

  /** The person's id when the PIN is right; otherwise 401 (after a delay) or 429. */
  async verify(who: Who, pin: string, address: string): Promise<number> {
    const personSubject = 'personId' in who ? `person:${who.personId}` : `badge:${who.badgeCode}`
    const subjects = [personSubject, `address:${address}`]
    const now = this.clock()
    this.refuseIfBlocked(await this.store.signInThrottle.find(this.store.db, subjects), now)

    const person = await this.store.persons.findCredentials(this.store.db, who)
    // Checked against a decoy when there is no person or no PIN: the same time either way.
    const valid = await verifyPin(pin, person?.pin_hash ?? null)
    if (valid && person) {
      await this.store.signInThrottle.forget(this.store.db, personSubject)
      this.onOutcome('signed_in')

      return person.id
    }

    const failures = await this.countFailure(subjects, now)
    this.onOutcome('failed')
    const delay = this.policy.baseDelayMs * 2 ** (failures - 1)
    await sleep(Math.min(delay, this.policy.maxDelayMs))
    throw new UnauthenticatedError(
      'SIGN_IN_FAILED',
      'The person id or badge and PIN do not match a person who may sign in.',
    )
  }

  /** Forgets counts whose window and refusal have both ended; the sweeper calls this. */
  forgetExpired(): Promise<number> {
    const cutoff = new Date(this.clock().getTime() - this.policy.lockoutS * 1000)

    return this.store.signInThrottle.forgetOlderThan(this.store.db, toDbTime(cutoff))
  }

  private refuseIfBlocked(rows: ThrottleRow[], now: Date): void {
    const until = rows
      .map((row) => (row.blocked_until === null ? 0 : fromDbTime(row.blocked_until).getTime()))
      .reduce((latest, time) => Math.max(latest, time), 0)
    if (until <= now.getTime()) return
    this.onOutcome('refused')
    const retryAfterS = Math.ceil((until - now.getTime()) / 1000)
    throw new TooManyAttemptsError(
      'TOO_MANY_SIGN_IN_ATTEMPTS',
      `Too many failed sign-ins; try again in ${retryAfterS} s, or ask a supervisor.`,
      retryAfterS,
    )
  }

  /** Counts one failure for each subject; returns the highest count, for the delay. */
  private async countFailure(subjects: string[], now: Date): Promise<number> {
    return this.store.transaction(async (tx) => {
      let highest = 0
      for (const subject of subjects) {
        const limit = subject.startsWith('address:')
          ? this.policy.maxFailuresPerAddress
          : this.policy.maxFailuresPerPerson
        const row = await this.store.signInThrottle.lock(tx, subject)
        const next = this.nextCount(subject, row, now, limit)
        if (row) await this.store.signInThrottle.update(tx, next)
        else await this.store.signInThrottle.insert(tx, next)
        highest = Math.max(highest, next.failures)
      }

      return highest
    })
  }

  private nextCount(
    subject: string,
    row: ThrottleRow | undefined,
    now: Date,
    limit: number,
  ): ThrottleRow {
    const windowMs = this.policy.lockoutS * 1000
    const fresh = !row || fromDbTime(row.first_failed_at).getTime() < now.getTime() - windowMs
    const failures = fresh ? 1 : row.failures + 1
    const blocked = failures >= limit ? toDbTime(new Date(now.getTime() + windowMs)) : null

    return {
      subject,
      failures,
      first_failed_at: fresh ? toDbTime(now) : row.first_failed_at,
      blocked_until: blocked ?? (fresh ? null : row.blocked_until),
    }
  }
}
