import { authHeaders, reachability } from './api.js'

export interface LiveEvent {
  id: number
  type: string
  task_id: number | null
  person_id: number | null
  actor: string
  occurred_at: string
}

export interface LiveOptions {
  onEvents: (events: LiveEvent[]) => void
  /** Told when the stream (re)opens, so the page can read the state it may have missed. */
  onOpen: () => void
  /** The credential was refused: no point reconnecting. */
  onUnauthorized: () => void
}

/**
 * GET /events read with fetch rather than EventSource, which cannot send an Authorization
 * header. It reconnects on its own with Last-Event-ID, so nothing is lost while it was down.
 */
export class LiveStream {
  private lastId: string | null = null
  private controller: AbortController | null = null
  private stopped = false

  constructor(private readonly options: LiveOptions) {}

  start(): void {
    // The browser knows first when the network goes; do not wait for a read to time out.
    window.addEventListener('offline', this.dropped)
    window.addEventListener('online', this.dropped)
    void this.run()
  }

  stop(): void {
    this.stopped = true
    window.removeEventListener('offline', this.dropped)
    window.removeEventListener('online', this.dropped)
    this.controller?.abort()
  }

  private readonly dropped = () => {
    this.retryNow = true
    this.controller?.abort()
  }

  private retryNow = false

  private async run(): Promise<void> {
    let delay = 500
    while (!this.stopped) {
      try {
        await this.connect()
        delay = 500
      } catch (error) {
        if (error instanceof Unauthorized) {
          this.options.onUnauthorized()
          return
        }
      }
      if (this.stopped) return
      reachability(navigator.onLine && this.retryNow)
      const wait = this.retryNow && navigator.onLine ? 0 : delay
      this.retryNow = false
      await new Promise((resolve) => setTimeout(resolve, wait))
      delay = Math.min(delay * 2, 5000)
    }
  }

  private async connect(): Promise<void> {
    this.controller = new AbortController()
    const headers: Record<string, string> = { ...authHeaders(), accept: 'text/event-stream' }
    if (this.lastId) headers['last-event-id'] = this.lastId
    const response = await fetch('/events', { headers, signal: this.controller.signal })
    // Refused, not lost: retrying cannot help.
    if (response.status === 401 || response.status === 403) throw new Unauthorized()
    if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`)
    reachability(true)
    this.options.onOpen()

    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    for (;;) {
      // The service writes at least a keep-alive line every 15 s; silence means a dead link.
      const silence = setTimeout(() => this.controller?.abort(), STALE_AFTER_MS)
      const { value, done } = await reader.read().finally(() => clearTimeout(silence))
      if (done) return
      buffer += value
      const blocks = buffer.split('\n\n')
      buffer = blocks.pop() ?? ''
      const events = blocks.flatMap((block) => this.parse(block))
      if (events.length > 0) this.options.onEvents(events)
    }
  }

  private parse(block: string): LiveEvent[] {
    let data = ''
    for (const line of block.split('\n')) {
      if (line.startsWith('id: ')) this.lastId = line.slice(4)
      if (line.startsWith('data: ')) data += line.slice(6)
    }

    return data ? [JSON.parse(data) as LiveEvent] : []
  }
}

const STALE_AFTER_MS = 35_000

class Unauthorized extends Error {}
