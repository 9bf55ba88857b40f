// GET /events read as a browser would, noting when each task's event arrived: the far end
// of the event latency scenario. node:http, like the load driver, in the runner process, so
// arrival and answer times come from one clock.
import { type ClientRequest, request as httpRequest } from 'node:http'

const OPEN_TIMEOUT_MS = 10_000

export class EventStreamReader {
  /** performance.now() when the first event of the watched type arrived, by task id. */
  readonly arrivals = new Map<number, number>()
  private buffer = ''

  private constructor(
    private readonly request: ClientRequest,
    private readonly type: string,
  ) {}

  /** Opens the stream on 127.0.0.1:`port` and resolves once its headers are in. */
  static open(port: number, authorization: string, type: string): Promise<EventStreamReader> {
    const request = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/events',
      headers: { accept: 'text/event-stream', authorization },
    })
    const reader = new EventStreamReader(request, type)

    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        request.destroy()
        reject(new Error(`GET /events did not answer within ${OPEN_TIMEOUT_MS} ms`))
      }, OPEN_TIMEOUT_MS)
      request.on('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
      request.on('response', (response) => {
        clearTimeout(timer)
        if (response.statusCode !== 200) {
          request.destroy()
          reject(new Error(`GET /events: HTTP ${response.statusCode}`))
          return
        }
        response.setEncoding('utf8').on('data', (chunk: string) => reader.take(chunk))
        resolve(reader)
      })
      request.end()
    })
  }

  close(): void {
    this.request.destroy()
  }

  private take(chunk: string): void {
    const now = performance.now()
    this.buffer += chunk
    for (;;) {
      const end = this.buffer.indexOf('\n\n')
      if (end < 0) return
      const lines = this.buffer.slice(0, end).split('\n')
      this.buffer = this.buffer.slice(end + 2)
      if (!lines.includes(`event: ${this.type}`)) continue
      const data = lines.find((line) => line.startsWith('data: '))?.slice('data: '.length)
      const taskId = data ? (JSON.parse(data) as { task_id?: number | null }).task_id : null
      if (typeof taskId === 'number' && !this.arrivals.has(taskId)) this.arrivals.set(taskId, now)
    }
  }
}
