import type { ServerResponse } from 'node:http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Caller } from '../../domain/access/roles.js'
import type { EventFeed } from '../../domain/event-feed.js'
import type { AuditEvent } from '../../domain/model.js'
import type { ReadModel } from '../../domain/read-model.js'
import { STAFF_AND_INSPECTORS } from '../access.js'
import { HttpProblem } from '../problem.js'
import { problemResponses } from '../schemas/common.js'

export interface EventStreamDeps {
  feed: EventFeed
  reads: ReadModel
  /** A comment line this often keeps proxies from closing a quiet stream. */
  keepAliveMs: number
}

const REPLAY_PAGE = 500
/** About 2 000 events a client has not read yet. */
const MAX_BUFFERED_BYTES = 1024 * 1024

/**
 * Whether the event ends the credential the stream was opened with: the inspector logged
 * out or given a new PIN (their sessions end), or the key revoked.
 */
function endsCredential(caller: Caller, event: AuditEvent): boolean {
  if (caller.kind === 'session') {
    const aboutThem = event.person_id === caller.personId
    const newPin = event.type === 'person_updated' && (event.detail ?? '').includes('pin')

    return aboutThem && (event.type === 'person_logged_out' || newPin)
  }

  const revoked = event.type === 'api_key_revoked' && caller.actor === `key:${event.detail}`

  return caller.kind === 'key' && revoked
}

/**
 * GET /events: the audit trail as Server-Sent Events, live. A client that reconnects with
 * Last-Event-ID first gets what it missed from the database, then the live events, so a
 * dropped connection loses nothing. Events made by other instances arrive through the
 * database (see EventFeed).
 */
export const eventRoutes: FastifyPluginAsyncTypebox<EventStreamDeps> = async (
  app,
  { feed, reads, keepAliveMs },
) => {
  const open = new Set<ServerResponse>()
  // Streams never end by themselves; a stopping server ends them so it can drain.
  app.addHook('preClose', async () => {
    for (const stream of open) stream.end()
  })

  app.get(
    '/events',
    {
      config: { access: STAFF_AND_INSPECTORS },
      schema: {
        tags: ['history'],
        summary: 'Live events as Server-Sent Events; reconnect with Last-Event-ID to catch up',
        description:
          'Send Accept: text/event-stream (EventSource does). Each event has the id of its ' +
          'audit trail entry and the entry as data. Inspectors get only events about ' +
          'themselves.',
        headers: Type.Object({
          'last-event-id': Type.Optional(
            Type.String({ pattern: '^\\d{1,15}$', description: 'The last id received.' }),
          ),
        }),
        response: { 200: Type.String({ description: 'text/event-stream' }), ...problemResponses },
      },
    },
    async (request, reply) => {
      if (!(request.headers.accept ?? '').toLowerCase().includes('text/event-stream')) {
        throw new HttpProblem(
          406,
          'NOT_ACCEPTABLE',
          'GET /events is a Server-Sent Events stream: send Accept: text/event-stream.',
        )
      }
      const { caller } = request
      const personId = caller.kind === 'session' ? caller.personId : undefined
      const mine = (event: AuditEvent) => personId === undefined || event.person_id === personId

      let live = false
      const waiting: AuditEvent[] = []
      let sentUpTo = 0
      const raw = reply.raw
      const send = (events: readonly AuditEvent[]) => {
        for (const event of events) {
          if (event.id <= sentUpTo || !mine(event)) continue
          raw.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`)
          sentUpTo = event.id
          // The credential this stream was opened with has just ended: so does the stream.
          if (endsCredential(caller, event)) raw.end()
        }
        // A client that stopped reading is dropped rather than buffered without end; it
        // comes back with Last-Event-ID and loses nothing.
        if (raw.writableLength > MAX_BUFFERED_BYTES) raw.destroy()
      }
      const stopListening = await feed.listen((events) => {
        if (live) send(events)
        else waiting.push(...events)
      })
      let keepAlive: NodeJS.Timeout | undefined
      const closed = () => {
        clearInterval(keepAlive)
        stopListening()
        open.delete(raw)
      }
      try {
        const snapshot = feed.position
        const lastSeen = request.headers['last-event-id']
        sentUpTo = lastSeen === undefined ? snapshot : Number(lastSeen)
        // An id past the end of the trail (a restored or new database) would mute the
        // stream for good; the client gets what follows now instead.
        if (sentUpTo > snapshot && sentUpTo > (await reads.lastEventId())) sentUpTo = snapshot

        reply.hijack()
        raw.on('close', closed)
        if (raw.destroyed) return closed()
        raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          // nginx would otherwise hold events back in its buffer.
          'x-accel-buffering': 'no',
          'x-request-id': request.id,
        })
        raw.write('retry: 2000\n\n')
        open.add(raw)
        keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), keepAliveMs)

        while (sentUpTo < snapshot) {
          const page = await reads.eventsAfter(sentUpTo, REPLAY_PAGE, personId)
          const missed = page.filter((event) => event.id <= snapshot)
          send(missed)
          if (page.length < REPLAY_PAGE || missed.length < page.length) break
          sentUpTo = Math.max(sentUpTo, page.at(-1)?.id ?? sentUpTo)
        }
        // Everything up to the snapshot has been replayed; the feed tells what comes after.
        sentUpTo = Math.max(sentUpTo, snapshot)
        live = true
        send(waiting)
      } catch (error) {
        if (!reply.sent && !raw.headersSent) {
          closed()
          throw error
        }
        request.log.warn({ err: error }, 'event replay failed; closing the stream')
        raw.end()
      }
    },
  )
}
