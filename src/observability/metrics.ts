import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { DomainEvent } from '../domain/events.js'
import type { Store } from '../store/store.js'

/** Everything /metrics shows. One registry per service, so tests can run several. */
export class ServiceMetrics {
  readonly registry = new Registry()

  private readonly tasksCreated = new Counter({
    name: 'qc_tasks_created_total',
    help: 'Tasks created.',
    registers: [this.registry],
  })

  private readonly tasksAssigned = new Counter({
    name: 'qc_tasks_assigned_total',
    help: 'Assignments made, by what triggered them.',
    labelNames: ['reason'],
    registers: [this.registry],
  })

  private readonly tasksCompleted = new Counter({
    name: 'qc_tasks_completed_total',
    help: 'Tasks completed.',
    registers: [this.registry],
  })

  private readonly tasksReleased = new Counter({
    name: 'qc_tasks_released_total',
    help: 'Tasks put back in the queue, by why (logout, heartbeat expiry, release).',
    labelNames: ['reason'],
    registers: [this.registry],
  })

  private readonly tasksCancelled = new Counter({
    name: 'qc_tasks_cancelled_total',
    help: 'Tasks withdrawn before they were done.',
    registers: [this.registry],
  })

  readonly signInAttempts = new Counter({
    name: 'qc_sign_in_attempts_total',
    help: 'Inspector PIN sign-ins: signed_in, failed (wrong PIN or unknown), refused (throttled).',
    labelNames: ['outcome'],
    registers: [this.registry],
  })

  private readonly waitSeconds = new Histogram({
    name: 'qc_task_wait_seconds',
    help: 'From task creation to its assignment.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [this.registry],
  })

  readonly transactionRetries = new Counter({
    name: 'qc_db_transaction_retries_total',
    help: 'Transactions run again, by reason (deadlock, lock_wait_timeout, busy, lost_race...).',
    labelNames: ['reason'],
    registers: [this.registry],
  })

  readonly sweepSeconds = new Histogram({
    name: 'qc_sweep_duration_seconds',
    help: 'How long one sweep took.',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  })

  readonly httpSeconds = new Histogram({
    name: 'qc_http_request_duration_seconds',
    help: 'HTTP requests by route and status.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  })

  constructor(store: Store, onCollectError: (error: unknown) => void) {
    collectDefaultMetrics({ register: this.registry })

    // The two state gauges are read from the database when scraped, so every instance
    // reports the shared truth rather than its own share of it.
    new Gauge({
      name: 'qc_queue_depth',
      help: 'Tasks pending.',
      registers: [this.registry],
      async collect() {
        try {
          this.set(await store.tasks.countPending(store.db))
        } catch (error) {
          onCollectError(error)
        }
      },
    })
    new Gauge({
      name: 'qc_persons',
      help: 'Inspectors by state.',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        try {
          const counts = await store.persons.countByState(store.db)
          for (const [state, count] of Object.entries(counts)) this.set({ state }, count)
        } catch (error) {
          onCollectError(error)
        }
      },
    })
  }

  readonly record = (event: DomainEvent): void => {
    switch (event.type) {
      case 'task_created':
        this.tasksCreated.inc()
        break
      case 'task_assigned':
        this.tasksAssigned.inc({ reason: event.reason })
        this.waitSeconds.observe(Math.max(0, event.waitMs) / 1000)
        break
      case 'task_completed':
        this.tasksCompleted.inc()
        break
      case 'task_released':
        this.tasksReleased.inc({ reason: event.reason })
        break
      case 'task_cancelled':
        this.tasksCancelled.inc()
        break
    }
  }
}
