// Polls /readyz on each instance directly, so a scenario can say what readiness reported
// while its fault lasted, and when each instance was ready again.
import { setTimeout as sleep } from 'node:timers/promises'
import type { ServiceInstance } from './cluster.js'
import { type Outcome, send } from './http.js'
import { kindOf } from './ledger.js'

export interface ReadyPoll {
  instance: string
  outcome: Outcome
}

const POLL_EVERY_MS = 200

export class ReadinessPoller {
  readonly polls: ReadyPoll[] = []
  private stopped = false
  private readonly loops: Promise<void>[]

  constructor(private readonly instances: ServiceInstance[]) {
    this.loops = instances.map((instance) => this.poll(instance))
  }

  async stop(): Promise<void> {
    this.stopped = true
    await Promise.all(this.loops)
  }

  /** Polls that began and ended inside [from, to]. */
  within(from: number, to: number): ReadyPoll[] {
    return this.polls.filter(
      ({ outcome }) => outcome.startedAt >= from && outcome.startedAt + outcome.ms <= to,
    )
  }

  /**
   * What each instance's /readyz said about an outage from `down` to `back` (when the
   * database was started again) and `up` (when it answered): 503 NOT_READY throughout, then
   * 200 within `healMs` of `up`. Returns the violations and how long each took to be ready.
   */
  judgeOutage(
    window: { down: number; back: number; up: number },
    healMs: number,
  ): { violations: string[]; healed: string[] } {
    const violations: string[] = []
    const healed: string[] = []
    for (const instance of this.instances) {
      const name = instance.name
      const polls = this.within(window.down, window.back).filter((p) => p.instance === name)
      const wrong = polls.filter((p) => kindOf(p.outcome) !== '503:NOT_READY')
      if (polls.length === 0) violations.push(`${name}: /readyz not polled while down`)
      const firstWrong = wrong[0]
      if (firstWrong) {
        violations.push(
          `${name}: /readyz answered ${kindOf(firstWrong.outcome)} while the database was ` +
            `down (${wrong.length} of ${polls.length} polls)`,
        )
      }
      const again = this.readyAgain(name, window.back)
      if (again === null || again - window.up > healMs) {
        violations.push(`${name}: /readyz not 200 within ${healMs} ms of the restart`)
      } else {
        healed.push(`${name} ${((again - window.up) / 1000).toFixed(2)} s`)
      }
    }

    return { violations, healed }
  }

  /** When `instance` first answered 200 after `since`, or null. */
  readyAgain(instance: string, since: number): number | null {
    const poll = this.polls.find(
      (p) =>
        p.instance === instance &&
        p.outcome.startedAt >= since &&
        p.outcome.ok &&
        p.outcome.status === 200,
    )

    return poll ? poll.outcome.startedAt + poll.outcome.ms : null
  }

  private async poll(instance: ServiceInstance): Promise<void> {
    const to = instance.endpoint(false)
    for (let i = 0; !this.stopped && i < 10_000; i++) {
      const outcome = await send(to, 'GET', '/readyz', undefined, {
        timeoutMs: 5000,
        requestId: `readyz-${instance.name}-${i}`,
      })
      this.polls.push({ instance: instance.name, outcome })
      await sleep(POLL_EVERY_MS)
    }
  }
}
