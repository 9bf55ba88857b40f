// An SSE client for GET /events that collects what arrives; every wait on it is bounded.
import { request as httpRequest, type IncomingMessage } from 'node:http'

export interface StreamEvent {
  id: number
  type: string
  person_id: number | null
  task_id: number | null
  actor: string
}

/** An SSE client that collects events; every wait on it is bounded. */
export class EventClient {
  readonly events: StreamEvent[] = []
  /** performance.now() when each event's block was read, in the order of `events`. */
  readonly arrivedAt: number[] = []
  /** The service ended the stream. */
  ended = false
  private buffer = ''
  private response: IncomingMessage | undefined
  private readonly closeRequest: () => void

  private constructor(port: number, headers: Record<string, string>) {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/events',
      headers: { accept: 'text/event-stream', ...headers },
    })
    req.on('response', (response) => {
      this.response = response
      response.setEncoding('utf8').on('data', (chunk: string) => this.take(chunk))
      response.on('end', () => {
        this.ended = true
      })
    })
    req.on('error', () => {})
    req.end()
    this.closeRequest = () => req.destroy()
  }

  static async open(port: number, headers: Record<string, string>): Promise<EventClient> {
    const client = new EventClient(port, headers)
    await client.until(() => client.response !== undefined, 'the stream to open')

    return client
  }

  get status(): number | undefined {
    return this.response?.statusCode
  }

  async until(done: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  close(): void {
    this.closeRequest()
  }

  private take(chunk: string): void {
    this.buffer += chunk
    for (;;) {
      const end = this.buffer.indexOf('\n\n')
      if (end < 0) return
      const block = this.buffer.slice(0, end)
      this.buffer = this.buffer.slice(end + 2)
      const data = block
        .split('\n')
        .find((line) => line.startsWith('data: '))
        ?.slice('data: '.length)
      if (data) {
        this.events.push(JSON.parse(data) as StreamEvent)
        this.arrivedAt.push(performance.now())
      }
    }
  }
}
