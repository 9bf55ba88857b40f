import { setTimeout as sleep } from 'node:timers/promises'
import pLimit from 'p-limit'
import type { ThrottleRow } from '../../store/sign-in-throttle.js'
import type { Store } from '../../store/store.js'
import { fromDbTime, toDbTime } from '../../store/time.js'
import { TooManyAttemptsError, UnauthenticatedError, UnavailableError } from '../errors.js'
import { verifyPin } from './secrets.js'

export interface SignInPolicy {
  /** Failed sign-ins for one person before sign-in is refused for a while. */
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

/** What an attempt tells the metrics and the log. */
export type SignInOutcome = 'signed_in' | 'failed' | 'refused'

export interface SignInAttempt {
  outcome: SignInOutcome
  /** 'person:<id>', or 'badge:<code>' for a badge nobody has. */
  subject: string
  address: string
}

/** The throttle's count for one inspector, however they name themselves. */
export function personSubject(personId: number): string {
  return `person:${personId}`
}

/**
 * PIN checks at once per instance. Each takes a thread of libuv's pool (four by default) and
 * 32 MiB for about 100 ms; a flood of guesses must not starve the pool or the memory.
 */
const CONCURRENT_CHECKS = 2
/** Beyond this many waiting, sign-in answers 503 at once rather than queueing for seconds. */
const WAITING_CHECKS = 32

/**
 * Checks an inspector's PIN, slowing down and then refusing repeated failures per person
 * and per client address. Each attempt is counted as a failure before its PIN is checked
 * (and forgiven if it was right), so attempts sent all at once cannot slip past the limit
 * while earlier ones are still being checked. The counts live in the database: every
 * instance applies the same limits.
 */
export class SignIn {
  private readonly checks = pLimit(CONCURRENT_CHECKS)

  constructor(
    private readonly store: Store,
    private readonly policy: SignInPolicy,
    private readonly clock: () => Date,
    private readonly onAttempt: (attempt: SignInAttempt) => void = () => {},
  ) {}

  /** The person's id when the PIN is right; otherwise 401 (after a delay), 429 or 503. */
  async verify(who: Who, pin: string, address: string): Promise<number> {
    const person = await this.store.persons.findCredentials(this.store.db, who)
    // One count per person, whether they give their id or their badge.
    const subject = person
      ? personSubject(person.id)
      : 'personId' in who
        ? personSubject(who.personId)
        : `badge:${who.badgeCode}`
    const addressSubject = `address:${address}`
    // A badge nobody has may be a PIN typed into the wrong field: it is never logged.
    const logged = subject.startsWith('badge:') ? 'badge:unknown' : subject
    const attempt = (outcome: SignInOutcome) =>
      this.onAttempt({ outcome, subject: logged, address })

    const now = this.clock()
    const reserved = await this.reserve([subject, addressSubject], now)
    if (reserved.refusedForS !== null) {
      attempt('refused')
      throw tooManyAttempts(reserved.refusedForS)
    }
    if (this.checks.pendingCount >= WAITING_CHECKS) {
      // Only this attempt is taken back: the person's earlier failures still count.
      await this.uncount([subject, addressSubject])
      throw new UnavailableError(
        'SIGN_IN_BUSY',
        'Too many sign-ins are being checked right now; try again in a moment.',
      )
    }
    // Checked against a decoy when there is no person or no PIN: the same time either way.
    const valid = await this.checks(() => verifyPin(pin, person?.pin_hash ?? null))
    if (valid && person) {
      await this.forgive(subject, addressSubject)
      attempt('signed_in')

      return person.id
    }

    await this.blockWhereFull(reserved.counts, now)
    attempt('failed')
    const failures = Math.max(...reserved.counts.values())
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

  private limitOf(subject: string): number {
    return subject.startsWith('address:')
      ? this.policy.maxFailuresPerAddress
      : this.policy.maxFailuresPerPerson
  }

  /**
   * Counts this attempt for each subject, under their row locks, or finds a subject refused
   * (blocked, or already at its limit). A refused attempt counts nowhere, so one inspector
   * locked out cannot, by trying on, lock out the station's address as well. A refusal is
   * written, not thrown, inside the transaction, so it is kept.
   */
  private reserve(subjects: string[], now: Date) {
    return this.store.transaction(async (tx) => {
      const seen: { subject: string; row: ThrottleRow | undefined; failures: number }[] = []
      let refusedUntil = 0
      const lockout = now.getTime() + this.policy.lockoutS * 1000
      for (const subject of subjects) {
        const row = await this.store.signInThrottle.lock(tx, subject)
        const blockedUntil = row?.blocked_until ? fromDbTime(row.blocked_until).getTime() : 0
        const failures = !row || this.windowEnded(row, now) ? 0 : row.failures
        if (blockedUntil > now.getTime()) {
          refusedUntil = Math.max(refusedUntil, blockedUntil)
        } else if (row && failures >= this.limitOf(subject)) {
          refusedUntil = Math.max(refusedUntil, lockout)
          await this.store.signInThrottle.block(tx, subject, toDbTime(new Date(lockout)))
        }
        seen.push({ subject, row, failures })
      }
      const counts = new Map<string, number>()
      if (refusedUntil === 0) {
        for (const { subject, row, failures } of seen) {
          const next: ThrottleRow = {
            subject,
            failures: failures + 1,
            first_failed_at: failures === 0 || !row ? toDbTime(now) : row.first_failed_at,
            blocked_until: null,
          }
          if (row) await this.store.signInThrottle.update(tx, next)
          else await this.store.signInThrottle.insert(tx, next)
          counts.set(subject, next.failures)
        }
      }
      const refusedForS = refusedUntil > 0 ? Math.ceil((refusedUntil - now.getTime()) / 1000) : null

      return { counts, refusedForS }
    })
  }

  /** After a failure: subjects whose count reached the limit are refused for a while. */
  private async blockWhereFull(counts: Map<string, number>, now: Date): Promise<void> {
    const full = [...counts].filter(([subject, count]) => count >= this.limitOf(subject))
    if (full.length === 0) return
    const until = toDbTime(new Date(now.getTime() + this.policy.lockoutS * 1000))
    await this.store.transaction(async (tx) => {
      for (const [subject] of full) await this.store.signInThrottle.block(tx, subject, until)
    })
  }

  private async uncount(subjects: string[]): Promise<void> {
    await this.store.transaction(async (tx) => {
      for (const subject of subjects) await this.store.signInThrottle.uncount(tx, subject)
    })
  }

  /**
   * Takes back this attempt's count: the person's count goes, the address keeps its earlier
   * failures, so one known PIN cannot reset a guessing run against others from there.
   */
  private async forgive(subject: string, addressSubject: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      await this.store.signInThrottle.forget(tx, subject)
      await this.store.signInThrottle.uncount(tx, addressSubject)
    })
  }

  private windowEnded(row: ThrottleRow, now: Date): boolean {
    const started = fromDbTime(row.first_failed_at).getTime()

    return started < now.getTime() - this.policy.lockoutS * 1000
  }
}

function tooManyAttempts(retryAfterS: number): TooManyAttemptsError {
  return new TooManyAttemptsError(
    'TOO_MANY_SIGN_IN_ATTEMPTS',
    `Too many failed sign-ins; try again in ${retryAfterS} s, or ask a supervisor to set a ` +
      'new PIN, which lifts the refusal for that inspector.',
    retryAfterS,
  )
}
