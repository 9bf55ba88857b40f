// One HTTP exchange with a hard deadline, and a name for how it ended. node:http rather than
// fetch, so that a refused connection, a reset and a timeout each keep their own name.
import { Agent, request as httpRequest } from 'node:http'
import { HARNESS_AUTH } from './credentials.js'

export interface Endpoint {
  /** For the report: "nginx", "instance-2". */
  name: string
  port: number
  /** Sockets kept alive between requests, or a new connection for each (agent null). */
  agent: Agent | null
}

export function endpoint(name: string, port: number, keepAlive = true): Endpoint {
  return { name, port, agent: keepAlive ? new Agent({ keepAlive: true, maxSockets: 256 }) : null }
}

export interface Answer {
  ok: true
  status: number
  contentType: string
  // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely, field by field
  body: any
  /** The service sets x-request-id on every answer; its absence means nginx answered itself. */
  fromService: boolean
  /** nginx's $upstream_addr, when the answer came through the proxy. */
  upstream: string | null
}

export interface Failure {
  ok: false
  /** ECONNREFUSED, ECONNRESET, timeout, ... */
  error: string
  /** The answer's head had arrived when it failed: a reset in the middle of an answer. */
  midAnswer: boolean
}

export type Outcome = (Answer | Failure) & { ms: number; startedAt: number; requestId: string }

export interface RequestOptions {
  timeoutMs: number
  requestId: string
  /**
   * Over the harness's admin credential (chaos/credentials.ts); an empty authorization sends
   * none, for a scenario that asks what an anonymous caller is told.
   */
  headers?: Record<string, string>
}

export function send(
  to: Endpoint,
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  options: RequestOptions,
): Promise<Outcome> {
  const startedAt = Date.now()
  const payload = body === undefined ? undefined : JSON.stringify(body)
  const headers: Record<string, string> = {
    ...HARNESS_AUTH,
    ...options.headers,
    'x-request-id': options.requestId,
  }
  if (headers.authorization === '') delete headers.authorization
  if (payload !== undefined) {
    headers['content-type'] = 'application/json'
    headers['content-length'] = String(Buffer.byteLength(payload))
  }

  return new Promise((resolve) => {
    let midAnswer = false
    let settled = false
    const finish = (outcome: Answer | Failure) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ ...outcome, ms: Date.now() - startedAt, startedAt, requestId: options.requestId })
    }
    const fail = (error: unknown) =>
      finish({ ok: false, error: errorName(error), midAnswer: midAnswer })

    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: to.port,
        method,
        path,
        headers,
        agent: to.agent ?? false,
      },
      (res) => {
        midAnswer = true
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', fail)
        res.on('end', () => {
          const contentType = String(res.headers['content-type'] ?? '')
          const text = Buffer.concat(chunks).toString('utf8')
          finish({
            ok: true,
            status: res.statusCode ?? 0,
            contentType,
            body: contentType.includes('json') ? parseJson(text) : text,
            fromService: res.headers['x-request-id'] !== undefined,
            upstream: headerText(res.headers['x-upstream']),
          })
        })
      },
    )
    const timer = setTimeout(() => {
      fail(Object.assign(new Error('timeout'), { code: 'timeout' }))
      req.destroy()
    }, options.timeoutMs)
    req.on('error', fail)
    req.end(payload)
  })
}

function errorName(error: unknown): string {
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') return code

  return (error as Error).message ?? String(error)
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function headerText(value: string | string[] | undefined): string | null {
  if (value === undefined) return null

  return Array.isArray(value) ? (value[0] ?? null) : value
}
