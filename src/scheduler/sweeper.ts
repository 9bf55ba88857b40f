import type { FastifyBaseLogger } from 'fastify'
import type { AssignmentService } from '../domain/assignment-service.js'

export interface SweeperOptions {
  intervalMs: number
  /** 0: inspectors are never logged out for silence. */
  heartbeatTimeoutS: number
  idempotencyKeyTtlS: number
  /** Other records past their time (sign-in counts, ended sessions); returns how many went. */
  forgetExpired?: () => Promise<number>
}

export interface SweepResult {
  expired: number
  assigned: number
  keysForgotten: number
}

/**
 * The safety net. Requests assign work the moment it becomes possible; the sweep picks up
 * what they could not: work a crashed instance left, people whose heartbeat stopped; and it
 * forgets idempotency keys, sign-in failure counts and ended sessions past their time. Runs
 * never overlap: the next is scheduled only when the last has finished.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | null = null
  private running: Promise<void> | null = null
  private stopped = true

  constructor(
    private readonly service: AssignmentService,
    private readonly options: SweeperOptions,
    private readonly log: FastifyBaseLogger,
    private readonly observeSeconds: (seconds: number) => void,
  ) {}

  start(): void {
    this.stopped = false
    this.schedule(0)
  }

  /** Stops scheduling and waits for a run in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    await this.running
  }

  async sweepOnce(): Promise<SweepResult> {
    const started = performance.now()
    const expired =
      this.options.heartbeatTimeoutS > 0
        ? await this.service.expireSilent(this.options.heartbeatTimeoutS)
        : 0
    const assigned = await this.service.assignAllWaiting()
    const keysForgotten = await this.service.forgetIdempotencyKeys(this.options.idempotencyKeyTtlS)
    await this.options.forgetExpired?.()
    const durationMs = performance.now() - started
    this.observeSeconds(durationMs / 1000)

    const fields = { expired, assigned, keysForgotten, durationMs: Math.round(durationMs) }
    if (expired > 0 || assigned > 0) this.log.info(fields, 'sweep found work')
    else this.log.debug(fields, 'sweep found nothing')

    return { expired, assigned, keysForgotten }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.running = this.sweepOnce()
        .then(() => undefined)
        .catch((error: unknown) => this.log.warn({ err: error }, 'sweep failed; retrying next run'))
        .finally(() => {
          this.running = null
          this.schedule(this.options.intervalMs)
        })
    }, delayMs)
    this.timer.unref()
  }
}
