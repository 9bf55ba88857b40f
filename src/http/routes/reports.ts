import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import {
  DEFAULT_INSPECTORS,
  DESCRIPTION_PREVIEW_CHARS,
  type ExportRange,
  type HistoryEntry,
  MAX_EXPORT_DAYS,
  type Reports,
} from '../../domain/reports.js'
import { STAFF } from '../access.js'
import { type CsvValue, csvRecord } from '../csv.js'
import { Id, Nullable, PageQuery, problemResponses, Timestamp } from '../schemas/common.js'
import { PersonStateSchema } from '../schemas/entities.js'

export interface ReportDeps {
  reports: Reports
}

const Count = Type.Integer({ minimum: 0 })
const Millis = Nullable(Type.Integer({ description: 'Milliseconds; null when nothing counted.' }))

const DashboardQuery = Type.Object(
  {
    hours: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 48,
        default: 8,
        description: 'Hours of series, the current one last.',
      }),
    ),
    tz_offset_minutes: Type.Optional(
      Type.Integer({
        minimum: -720,
        maximum: 840,
        default: 0,
        description:
          "Minutes east of UTC of the viewer's clock (120 for UTC+02:00): where today and " +
          'each hour of the series begin. 0, UTC, when left out.',
      }),
    ),
    state: Type.Optional(PersonStateSchema),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 500,
        default: DEFAULT_INSPECTORS,
        description: 'Inspectors per page.',
      }),
    ),
    cursor: PageQuery.cursor,
  },
  { additionalProperties: false },
)

const DashboardSchema = Type.Object(
  {
    generated_at: Timestamp,
    today_start: { ...Timestamp, description: 'Where today began on the asked-for clock.' },
    tz_offset_minutes: Type.Integer(),
    counters: Type.Object({
      pending: Count,
      in_progress: Count,
      done_today: Count,
      cancelled_today: Count,
      assignments_last_hour: { ...Count, description: 'Assignments started in the last hour.' },
      mean_wait_ms: Millis,
      p95_wait_ms: {
        ...Millis,
        description:
          'Of the waits (task created to assigned) of the assignments started in the last ' +
          'hour, the nearest-rank 95th percentile; null when none started.',
      },
    }),
    inspectors: Type.Object({
      total: { ...Count, description: 'Inspectors in the state asked for, or all of them.' },
      by_state: Type.Object({ offline: Count, free: Count, busy: Count }),
      items: Type.Array(
        Type.Object({
          id: Id,
          name: Type.String(),
          state: PersonStateSchema,
          current_task: Nullable(
            Type.Object({
              id: Id,
              description: Type.String({
                description:
                  `The first ${DESCRIPTION_PREVIEW_CHARS} characters, ending in … when cut; ` +
                  'GET /tasks/{id} has it all.',
              }),
              assigned_at: Timestamp,
            }),
          ),
          done_today: Count,
        }),
      ),
      next_cursor: Nullable(Type.String({ description: 'Null on the last page.' })),
    }),
    series: Type.Array(
      Type.Object({
        hour: { ...Timestamp, description: "The hour's start." },
        completed: { ...Count, description: 'Tasks completed in the hour.' },
        assignments_started: Count,
        mean_wait_ms: {
          ...Millis,
          description: 'Mean wait of the assignments started in the hour.',
        },
      }),
      { description: 'Oldest first; the last hour is the current one, still running.' },
    ),
  },
  { title: 'Dashboard' },
)

const ExportQuery = Type.Object(
  {
    from: Type.String({
      format: 'date-time',
      description: 'ISO 8601 with a zone; the first moment included.',
      examples: ['2026-03-01T00:00:00Z'],
    }),
    to: Type.String({
      format: 'date-time',
      description: `The first moment excluded; at most ${MAX_EXPORT_DAYS} days after from.`,
      examples: ['2026-03-08T00:00:00Z'],
    }),
  },
  { additionalProperties: false },
)

const COLUMNS = [
  'assignment_id',
  'task_id',
  'task_description',
  'person_id',
  'person_name',
  'assigned_at',
  'ended_at',
  'start_reason',
  'end_reason',
  'started_by',
  'ended_by',
  'wait_ms',
] as const satisfies readonly (keyof HistoryEntry)[]

export const reportRoutes: FastifyPluginAsyncTypebox<ReportDeps> = async (app, { reports }) => {
  app.get(
    '/dashboard',
    {
      config: { access: STAFF },
      schema: {
        tags: ['reports'],
        summary: "The supervisor's console: counters, inspectors and the last hours at once",
        description:
          "Waits run from a task's creation to an assignment's start; a released task keeps " +
          'its creation time. Inspectors come a page at a time, by id, with the totals.',
        querystring: DashboardQuery,
        response: { 200: DashboardSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store')
      const query = request.query

      return reports.dashboard({
        hours: query.hours ?? 8,
        tzOffsetMinutes: query.tz_offset_minutes ?? 0,
        state: query.state,
        limit: query.limit,
        cursor: query.cursor,
      })
    },
  )

  app.get(
    '/assignments/export',
    {
      config: { access: STAFF },
      schema: {
        tags: ['history'],
        summary: 'The assignments started in [from, to) as CSV, oldest first',
        description:
          'RFC 4180, UTF-8, a header row, CRLF line ends. A text field that starts with =, ' +
          '+, -, @, a tab or a carriage return gets a leading apostrophe, so spreadsheets ' +
          'show it rather than run it. Times are ISO 8601 UTC; an empty field is a null.',
        querystring: ExportQuery,
        response: {
          200: {
            description: 'The CSV file, as an attachment.',
            content: { 'text/csv': { schema: Type.String() } },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const range = reports.exportRange(request.query.from, request.query.to)
      reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${fileName(range)}"`)
        .header('cache-control', 'no-store')
      // A HEAD would read the whole range only for the body to be dropped.
      if (request.method === 'HEAD') return reply.send()
      const pages = reports.history(range)
      // Read before anything is sent, so a failing database still gets a problem answer.
      const first = await pages.next()

      return reply.send(Readable.from(csvText(first, pages)))
    },
  )
}

async function* csvText(
  first: IteratorResult<HistoryEntry[]>,
  rest: AsyncGenerator<HistoryEntry[]>,
): AsyncGenerator<string> {
  yield csvRecord(COLUMNS)
  if (first.done) return
  yield csvPage(first.value)
  for await (const page of rest) yield csvPage(page)
}

function csvPage(entries: HistoryEntry[]): string {
  return entries
    .map((entry) => csvRecord(COLUMNS.map((column): CsvValue => entry[column])))
    .join('')
}

/** 20260301T000000Z: no characters that file systems refuse. */
function fileName({ from, to }: ExportRange): string {
  const compact = (date: Date) => date.toISOString().replace(/[-:]/g, '').replace('.000Z', 'Z')

  return `assignments-${compact(from)}-${compact(to)}.csv`
}
