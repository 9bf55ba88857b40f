// A bounded HTTP load driver. node:http with a keep-alive agent rather than fetch: on this
// 2-core machine the client shares the CPU with the service and the database, and fetch
// (undici behind a WHATWG layer) cost the client about three times the CPU per request
// here (GET /healthz at 64 concurrent: 230 to 330 us against 80 to 90 us).
import { Agent, request as httpRequest } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'

const REQUEST_TIMEOUT_MS = 30_000

export interface Reply<T> {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely, field by field
  body: T extends undefined ? any : T
  bytes: number
}

/**
 * One target (host 127.0.0.1 and a port), its sockets kept alive between requests, and the
 * Authorization header it sends with each (BenchContext.httpClient gives a stored key's).
 */
export class HttpClient {
  private readonly agent: Agent

  constructor(
    readonly port: number,
    maxSockets: number,
    private readonly authorization?: string,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets })
  }

  request<T = undefined>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply<T>> {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const headers: Record<string, string> = {}
    if (this.authorization !== undefined) headers.authorization = this.authorization
    if (payload !== undefined) {
      headers['content-type'] = 'application/json'
      headers['content-length'] = String(Buffer.byteLength(payload))
    }

    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: this.port, method, path, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('error', reject)
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            const json = (res.headers['content-type'] ?? '').includes('json')
            try {
              resolve({
                status: res.statusCode ?? 0,
                body: json && text ? JSON.parse(text) : text,
                bytes: text.length,
              })
            } catch (error) {
              reject(error)
            }
          })
        },
      )
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')))
      req.on('error', reject)
      req.end(payload)
    })
  }

  get<T = undefined>(path: string) {
    return this.request<T>('GET', path)
  }

  post<T = undefined>(path: string, body?: unknown) {
    return this.request<T>('POST', path, body)
  }

  close(): void {
    this.agent.destroy()
  }
}

/** Throws with the status and the problem code, for an answer the benchmark did not expect. */
export function expectStatus<T>(reply: Reply<T>, status: number, what: string): Reply<T> {
  if (reply.status !== status) {
    const code = (reply.body as { code?: string } | undefined)?.code ?? ''
    throw new Error(`${what}: HTTP ${reply.status} ${code}`.trim())
  }

  return reply
}

export interface LoopResult {
  /** Operations that finished, each with its latency in ms (in the order they finished). */
  latencies: number[]
  /** When each operation finished, ms since the loop started. */
  finishedAt: number[]
  errors: Map<string, number>
  elapsedMs: number
}

export interface ClosedLoopOptions {
  workers: number
  durationMs: number
  /** A hard bound on operations, whatever the duration. */
  maxOps: number
  /**
   * One operation by `worker`; resolves true when it counts (its latency is kept), false
   * when there was nothing to do (the worker pauses a moment before trying again), or the
   * latency to keep when only part of the step is the operation measured.
   */
  step(worker: number): Promise<boolean | number>
}

/**
 * `workers` loops, each sending its next operation as soon as the last one answered, until
 * the duration or the operation bound is reached. An error is counted by message and the
 * worker pauses 10 ms, so a failing service cannot spin the loop.
 */
export async function closedLoop(options: ClosedLoopOptions): Promise<LoopResult> {
  const latencies: number[] = []
  const finishedAt: number[] = []
  const errors = new Map<string, number>()
  const started = performance.now()
  const deadline = started + options.durationMs
  let issued = 0

  const worker = async (index: number) => {
    while (performance.now() < deadline && issued < options.maxOps) {
      issued++
      const begin = performance.now()
      try {
        const outcome = await options.step(index)
        if (outcome !== false) {
          const end = performance.now()
          latencies.push(outcome === true ? end - begin : outcome)
          finishedAt.push(end - started)
        } else {
          issued--
          await sleep(5)
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error)
        errors.set(message, (errors.get(message) ?? 0) + 1)
        await sleep(10)
      }
    }
  }
  await Promise.all(Array.from({ length: options.workers }, (_, i) => worker(i)))

  return { latencies, finishedAt, errors, elapsedMs: performance.now() - started }
}

/** Operations per second of a loop. */
export function rate(result: LoopResult): number {
  return (result.latencies.length / result.elapsedMs) * 1000
}

export function errorSummary(errors: Map<string, number>): string {
  if (errors.size === 0) return 'none'

  return [...errors]
    .sort(([, a], [, b]) => b - a)
    .slice(0, 4)
    .map(([message, count]) => `${message} x${count}`)
    .join('; ')
}

export interface OpenLoopOptions {
  ratePerS: number
  durationMs: number
  /** Arrivals beyond this many unanswered requests are counted as errors, not sent. */
  maxInFlight: number
  /** A number in [0, 1): Poisson inter-arrival times come from it. */
  random(): number
  step(): Promise<unknown>
}

/**
 * Requests sent at Poisson arrival times, whether or not earlier ones have answered: the
 * latency of a service that is not saturated, which a closed loop cannot show.
 */
export async function openLoop(options: OpenLoopOptions): Promise<LoopResult> {
  const latencies: number[] = []
  const finishedAt: number[] = []
  const errors = new Map<string, number>()
  const fail = (message: string) => {
    errors.set(message, (errors.get(message) ?? 0) + 1)
  }
  const inFlight = new Set<Promise<void>>()
  const started = performance.now()
  const end = started + options.durationMs
  let due = started
  for (let n = 0; n < 10_000_000; n++) {
    due += (-Math.log(1 - options.random()) * 1000) / options.ratePerS
    if (due >= end) break
    const wait = due - performance.now()
    if (wait > 0) await sleep(wait)
    if (inFlight.size >= options.maxInFlight) {
      fail(`over ${options.maxInFlight} in flight; arrival skipped`)
      continue
    }
    const begin = performance.now()
    const request: Promise<void> = options
      .step()
      .then(() => {
        const done = performance.now()
        latencies.push(done - begin)
        finishedAt.push(done - started)
      })
      .catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)))
      .finally(() => inFlight.delete(request))
    inFlight.add(request)
  }
  await Promise.all(inFlight)

  return { latencies, finishedAt, errors, elapsedMs: performance.now() - started }
}
