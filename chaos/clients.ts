// Simulated inspectors and supervisors: a bounded number of clients, each sending one
// operation at a time until the time is up. Every request has a deadline, every retry loop a
// count, so the load always ends.
import { setTimeout as sleep } from 'node:timers/promises'
import { type Endpoint, type Outcome, send } from './http.js'
import { kindOf, Ledger, type OpKind, refusedCleanly } from './ledger.js'
import { Random } from './random.js'

export interface LoadOptions {
  /** Where requests go; each request picks one. The pairs go to the first two. */
  endpoints: Endpoint[]
  clients: number
  durationMs: number
  seed: number
  /** Inspectors created before the load starts; half of them are logged in. */
  persons: number
  /** Prefix of every description and name, unique per load. */
  label: string
  requestTimeoutMs?: number
  /** Attempts per operation while the service says nothing changed (its 503, a refusal). */
  attempts?: number
}

type Mix = Record<Exclude<OpKind, 'list'>, number>

// Alternating phases, so that both a backlog and idle inspectors occur.
const PILE_UP: Mix = {
  'add-person': 1,
  create: 40,
  login: 12,
  logout: 8,
  heartbeat: 5,
  complete: 15,
  'complete-twice': 10,
  'login-twice': 5,
}
const DRAIN: Mix = { ...PILE_UP, create: 5, logout: 4, complete: 50, 'complete-twice': 17 }
const PHASE_MS = 2000

const RETRY_DELAY_MS = [100, 400] as const

interface CallOptions {
  headers?: Record<string, string>
  /** The request is idempotent: retry after any failure, not only a clean refusal. */
  retryUnknown?: boolean
  onAttempt?: (outcome: Outcome) => void
}

interface Busy {
  id: number
  current_task_id: number | null
}

let requestCounter = 0

/** The load; `run` resolves once every client has stopped, `stop` ends it early. */
export class ClientLoad {
  readonly ledger = new Ledger()
  readonly personIds: number[] = []
  private stopping = false
  private started = 0
  private readonly timeoutMs: number
  private readonly attempts: number

  constructor(private readonly options: LoadOptions) {
    this.timeoutMs = options.requestTimeoutMs ?? 15_000
    this.attempts = options.attempts ?? 4
  }

  /** Creates the inspectors and logs half of them in, retrying while the service refuses. */
  async prepare(): Promise<void> {
    const random = new Random(this.options.seed)
    const client = new Client(this, random, -1)
    for (let i = 0; i < this.options.persons; i++) {
      const outcome = await client.addPerson()
      if (!outcome.ok || outcome.status !== 201) {
        throw new Error(`could not create inspector ${i}: ${JSON.stringify(outcome)}`)
      }
    }
    for (const personId of this.personIds.slice(0, Math.ceil(this.personIds.length / 2))) {
      await client.call('login', '/login', { person_id: personId }, [200])
    }
  }

  async run(): Promise<void> {
    this.started = Date.now()
    const clients = Array.from(
      { length: this.options.clients },
      (_, i) => new Client(this, new Random(this.options.seed + 1 + i), i),
    )
    await Promise.all(clients.map((client) => client.loop()))
  }

  stop(): void {
    this.stopping = true
  }

  /** Before `run` (while preparing) the load is not done; after its duration it is. */
  get done(): boolean {
    if (this.stopping) return true

    return this.started > 0 && Date.now() - this.started >= this.options.durationMs
  }

  get phase(): Mix {
    return Math.floor((Date.now() - this.started) / PHASE_MS) % 3 === 0 ? PILE_UP : DRAIN
  }

  get endpoints(): Endpoint[] {
    return this.options.endpoints
  }

  get label(): string {
    return this.options.label
  }

  /** One request, recorded in the ledger with the statuses a healthy service may give. */
  async send(
    to: Endpoint,
    op: OpKind,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    expected: readonly number[],
    headers?: Record<string, string>,
  ): Promise<Outcome> {
    const requestId = `chaos-${process.pid}-${++requestCounter}`
    const timeoutMs = this.timeoutMs
    const outcome = await send(to, method, path, body, { timeoutMs, requestId, headers })
    this.ledger.record({ op, endpoint: to.name, method, path, expected, outcome })

    return outcome
  }

  get maxAttempts(): number {
    return this.attempts
  }
}

/** One simulated person at a screen: one operation at a time. */
class Client {
  private seq = 0

  constructor(
    private readonly load: ClientLoad,
    private readonly random: Random,
    private readonly id: number,
  ) {}

  async loop(): Promise<void> {
    while (!this.load.done) {
      this.load.ledger.operations++
      await this.operation(this.random.weighted(this.load.phase))
    }
  }

  private operation(op: keyof Mix): Promise<unknown> {
    const person = () => ({ person_id: this.random.pick(this.load.personIds) })
    switch (op) {
      case 'add-person':
        return this.addPerson()
      case 'create':
        return this.createTask()
      case 'login':
        return this.call('login', '/login', person(), [200])
      case 'logout':
        return this.call('logout', '/logout', person(), [200])
      case 'heartbeat':
        return this.call('heartbeat', '/heartbeat', person(), [200, 409])
      case 'complete':
        return this.completeHeld()
      case 'complete-twice':
        return this.completeTwice()
      case 'login-twice':
        return this.loginTwice()
    }
  }

  async addPerson(): Promise<Outcome> {
    const name = `${this.load.label} p${this.id}.${this.seq++}`
    const outcome = await this.call('add-person', '/persons', { name }, [201])
    if (outcome.ok && outcome.status === 201) this.load.personIds.push(outcome.body.id)

    return outcome
  }

  /**
   * Half the creations carry an Idempotency-Key (the description itself, unique per task) and
   * are retried whatever went wrong; the others only when the service said nothing changed.
   */
  private async createTask(): Promise<void> {
    const description = `${this.load.label}-c${this.id}-${this.seq++}`
    const keyed = this.random.next() < 0.5
    await this.call('create', '/tasks', { description }, [201], {
      headers: keyed ? { 'idempotency-key': description } : undefined,
      retryUnknown: keyed,
      onAttempt: (outcome) => this.load.ledger.recordCreate(description, keyed, outcome),
    })
  }

  /**
   * As an inspector's screen might: find someone busy, then finish their task in their name.
   * Named, a completion may be sent again whatever went wrong: the holder's retry is answered
   * 200 again (already_completed), never a second completion.
   */
  private async completeHeld(): Promise<void> {
    const busy = await this.get('/persons?state=busy&limit=100')
    const people: Busy[] = busy.ok ? (busy.body?.items ?? []) : []
    if (people.length === 0) return
    const { id, current_task_id: taskId } = this.random.pick(people)
    if (typeof taskId !== 'number') return
    // Another client may finish it, or its inspector log out, between the two requests.
    const path = `/tasks/${taskId}/complete`
    await this.call('complete', path, { person_id: id }, [200, 409], { retryUnknown: true })
  }

  /** Two clients finish the same task at the same moment; at most one may be told 200. */
  private async completeTwice(): Promise<void> {
    const page = await this.get('/tasks?status=IN_PROGRESS&limit=50')
    const items: { id: number }[] = page.ok ? (page.body?.items ?? []) : []
    if (items.length === 0) return
    const { id } = this.random.pick(items)
    const path = `/tasks/${id}/complete`
    const [first, second] = await this.pair('complete-twice', path, {}, [200, 409])
    this.load.ledger.completedTwice.push({ taskId: id, kinds: [first, second] })
  }

  /** Two clients log the same inspector in at once; both are told 200. */
  private async loginTwice(): Promise<void> {
    const personId = this.random.pick(this.load.personIds)
    const kinds = await this.pair('login-twice', '/login', { person_id: personId }, [200])
    this.load.ledger.loggedInTwice.push({ personId, kinds })
  }

  private async pair(
    op: OpKind,
    path: string,
    body: unknown,
    expected: readonly number[],
  ): Promise<[string, string]> {
    const [a, b] = this.load.endpoints
    if (!a) throw new Error('no endpoint to send to')
    const outcomes = await Promise.all(
      [a, b ?? a].map((to) => this.sendTo(to, op, 'POST', path, body, expected)),
    )

    // The service's own statuses bare ("200", "409"); anything else by its kind.
    return outcomes.map((outcome) =>
      outcome.ok && outcome.fromService ? String(outcome.status) : kindOf(outcome),
    ) as [string, string]
  }

  private get(path: string): Promise<Outcome> {
    return this.sendTo(this.random.pick(this.load.endpoints), 'list', 'GET', path, undefined, [200])
  }

  /**
   * A write, sent again (same body) while the service says it changed nothing: its own 503
   * or a refused connection. Anything whose effect is unknown is retried only when the
   * request is idempotent (`retryUnknown`).
   */
  async call(
    op: OpKind,
    path: string,
    body: unknown,
    expected: readonly number[],
    options: CallOptions = {},
  ): Promise<Outcome> {
    let outcome: Outcome | undefined
    for (let attempt = 1; attempt <= this.load.maxAttempts; attempt++) {
      const to = this.random.pick(this.load.endpoints)
      outcome = await this.sendTo(to, op, 'POST', path, body, expected, options.headers)
      options.onAttempt?.(outcome)
      const answered = outcome.ok && outcome.fromService && outcome.status < 500
      const retry = options.retryUnknown ? !answered : refusedCleanly(outcome) && !answered
      if (!retry || this.load.done) break
      await sleep(this.random.between(...RETRY_DELAY_MS))
    }
    if (!outcome) throw new Error('no attempt was made')

    return outcome
  }

  private sendTo(
    to: Endpoint,
    op: OpKind,
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    expected: readonly number[],
    headers?: Record<string, string>,
  ): Promise<Outcome> {
    return this.load.send(to, op, method, path, body, expected, headers)
  }
}
