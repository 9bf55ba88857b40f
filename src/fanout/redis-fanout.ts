import { Redis, type RedisOptions } from 'ioredis'
import { rateLimitedWarning } from '../observability/rate-limited-warning.js'

/** The two levels used, so the class needs no Fastify; pino's child logger fits. */
export interface FanoutLog {
  info(details: object, message: string): void
  warn(details: object, message: string): void
}

export interface RedisFanoutOptions {
  url: string
  channel: string
  /** On every message from any instance (this one too) and after each (re)subscription. */
  onNudge: () => void
  log: FanoutLog
  /** While Redis is down each reconnect attempt fails; warn at most once this often. */
  warnEveryMs?: number
}

const CONNECTION: RedisOptions = {
  connectTimeout: 2000,
  // Forever, backing off to 2 s: a Redis that comes back is used again without a restart.
  retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
}

/**
 * Tells every instance over Redis pub/sub that the audit trail grew, so their event feeds
 * read it at once rather than at the next poll. Only that nudge travels: the events, their
 * order and their content stay in the database, so a lost message (Redis down, a reconnect)
 * costs latency, never an event. No request waits on Redis: publishing is fire-and-forget.
 */
export class RedisFanout {
  private readonly publisher: Redis
  private readonly subscriber: Redis
  /** Events announced since the last PUBLISH; one message per event-loop turn carries all. */
  private pending = 0
  private closed = false
  private readonly warn: (error: unknown, message: string) => void

  constructor(private readonly options: RedisFanoutOptions) {
    const { url, channel, log } = options
    this.warn = rateLimitedWarning(log, options.warnEveryMs ?? 30_000)
    const where = safeAddress(url)
    this.publisher = new Redis(url, {
      ...CONNECTION,
      // A nudge that cannot go now is worthless later: fail at once rather than queue.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 1000,
    })
    // The one SUBSCRIBE waits in the offline queue until Redis answers, however long.
    this.subscriber = new Redis(url, { ...CONNECTION, maxRetriesPerRequest: null })

    let everReady = false
    this.publisher.on('ready', () => {
      log.info({ redis: where, channel }, everReady ? 'Redis reachable again' : 'Redis connected')
      everReady = true
    })
    for (const connection of [this.publisher, this.subscriber]) {
      connection.on('error', (error: unknown) => {
        if (!this.closed) {
          this.warn(error, 'Redis unreachable; /events streams fall back to EVENT_POLL_MS')
        }
      })
    }
    this.subscriber.on('message', (from: string) => {
      if (from === channel) options.onNudge()
    })
    // Messages sent while this connection was down are lost: read the trail once, now.
    this.subscriber.on('ready', () => options.onNudge())
    this.subscriber.subscribe(channel).catch((error: unknown) => {
      if (!this.closed) this.warn(error, 'subscribing to the Redis channel failed')
    })
  }

  /** Called after each committed event; never throws, never waits. */
  announce(): void {
    if (this.closed || this.pending++ > 0) return
    setImmediate(() => this.flush())
  }

  async close(): Promise<void> {
    this.closed = true
    await Promise.all([ended(this.publisher), ended(this.subscriber)])
  }

  private flush(): void {
    const count = this.pending
    this.pending = 0
    // While Redis is away the connection's own errors are logged; the nudge is dropped.
    if (this.closed || this.publisher.status !== 'ready') return
    this.publisher.publish(this.options.channel, String(count)).catch((error: unknown) => {
      if (!this.closed) this.warn(error, 'publishing to Redis failed')
    })
  }
}

/** Disconnects without waiting for Redis, which may be unreachable; bounded all the same. */
function ended(connection: Redis): Promise<void> {
  if (connection.status === 'end') return Promise.resolve()

  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1000)
    connection.once('end', () => {
      clearTimeout(timer)
      resolve()
    })
    connection.disconnect()
  })
}

/** Scheme, host and port only: a password in the URL never reaches the log. */
function safeAddress(url: string): string {
  try {
    const parsed = new URL(url)

    return `${parsed.protocol}//${parsed.host}`
  } catch {
    return 'redis'
  }
}
