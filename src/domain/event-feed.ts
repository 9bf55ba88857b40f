import type { Store } from '../store/store.js'
import { type AuditEvent, eventFromRow } from './model.js'

export interface EventFeedOptions {
  /** How often the trail is read while anyone listens. */
  pollMs: number
  /**
   * How long a hole in the ids is waited for. MySQL hands out ids at insert and transactions
   * commit in another order, so a lower id can appear after a higher one; a hole that stays
   * open this long belongs to a transaction that rolled back.
   */
  gapWaitMs: number
  batchSize?: number
  /**
   * The least time between the starts of two reads that nudges bring forward, so a busy
   * fleet, whose every commit nudges every instance, costs each at most one read this often.
   */
  nudgeGapMs?: number
}

export type FeedListener = (events: readonly AuditEvent[]) => void

/**
 * Follows the audit trail in the database and tells listeners of each new event once, in id
 * order: the one way events travel between instances, since every instance writes there.
 * It reads only while someone listens, every pollMs, and sooner when nudged (Redis, when
 * configured, carries only that nudge, never an event).
 */
export class EventFeed {
  private readonly listeners = new Set<FeedListener>()
  private timer: NodeJS.Timeout | null = null
  private reading: Promise<void> | null = null
  private readStartedAt = 0
  /** A nudge came while a read was under way, which may have missed the nudging commit. */
  private nudged = false
  /** The highest id told; every id at or below it has been told or given up on. */
  private told = 0
  private holeSeenAt: number | null = null
  private starting: Promise<void> | null = null

  constructor(
    private readonly store: Store,
    private readonly options: EventFeedOptions,
    private readonly reportError: (error: unknown) => void = () => {},
  ) {}

  /** The highest id told so far; a new listener replays up to here from the database. */
  get position(): number {
    return this.told
  }

  /** Starts reading if this is the first listener; returns the function that stops it. */
  async listen(listener: FeedListener): Promise<() => void> {
    if (this.listeners.size === 0 && this.timer === null) {
      // Listeners arriving together share one start, and so one reading loop.
      this.starting ??= this.start().finally(() => {
        this.starting = null
      })
    }
    await this.starting
    this.listeners.add(listener)

    return () => {
      this.listeners.delete(listener)
      if (this.listeners.size === 0) this.stop()
    }
  }

  private async start(): Promise<void> {
    this.told = await this.store.events.lastId(this.store.db)
    this.holeSeenAt = null
    this.schedule()
  }

  /**
   * Reads at once (or as soon as nudgeGapMs allows) rather than at the next poll: another
   * instance has said the trail grew. Never starts a read beside one in progress; that read
   * is followed by another instead. Nothing happens while nobody listens.
   */
  nudge(): void {
    if (this.timer === null) return
    if (this.reading) {
      this.nudged = true
      return
    }
    clearTimeout(this.timer)
    this.schedule(this.nudgeDelay())
  }

  async close(): Promise<void> {
    this.listeners.clear()
    this.stop()
    await this.reading
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private schedule(delayMs = this.options.pollMs): void {
    this.timer = setTimeout(() => {
      this.nudged = false
      this.readStartedAt = Date.now()
      this.reading = this.readOnce()
        .catch(this.reportError)
        .finally(() => {
          this.reading = null
          if (this.timer === null || this.listeners.size === 0) return
          this.schedule(this.nudged ? this.nudgeDelay() : this.options.pollMs)
        })
    }, delayMs)
    this.timer.unref()
  }

  private nudgeDelay(): number {
    const gap = this.options.nudgeGapMs ?? 10

    return Math.max(0, this.readStartedAt + gap - Date.now())
  }

  private async readOnce(): Promise<void> {
    const rows = await this.store.events.listAfter(
      this.store.db,
      this.told,
      this.options.batchSize ?? 500,
    )
    const ready: AuditEvent[] = []
    for (const row of rows) {
      if (row.id !== this.told + 1 && !this.holeExpired()) break
      this.holeSeenAt = null
      this.told = row.id
      ready.push(eventFromRow(row))
    }
    if (ready.length === 0) return
    for (const listener of this.listeners) listener(ready)
  }

  /** True once a hole before the next row has been open for gapWaitMs. */
  private holeExpired(): boolean {
    const now = Date.now()
    this.holeSeenAt ??= now

    return now - this.holeSeenAt >= this.options.gapWaitMs
  }
}
