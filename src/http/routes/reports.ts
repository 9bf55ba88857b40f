import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { ExportRange, HistoryEntry, Reports } from '../../domain/reports.js'
import { STAFF } from '../access.js'
import { type CsvValue, csvRecord } from '../csv.js'
import { problemResponses } from '../schemas/common.js'
import { DashboardQuery, DashboardSchema, ExportQuery } from '../schemas/reports.js'

export interface ReportDeps {
  reports: Reports
}

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
