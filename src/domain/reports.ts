import type { HistoryRow, InspectorRow } from '../store/reports.js'
import type { Store } from '../store/store.js'
import { fromDbTime, isoFromDbTime, isoOrNull, toDbTime } from '../store/time.js'
import { InvalidInputError } from './errors.js'
import type { EndReason, PersonState, StartReason } from './model.js'
import { Listing, type PageRequest } from './paging.js'

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS
const DAY_MS = 24 * HOUR_MS

/** The longest range one export may cover. */
export const MAX_EXPORT_DAYS = 31
/** Rows per query while exporting: the memory an export holds, whatever its range. */
const EXPORT_PAGE = 1000
/** A dashboard line, not the task: GET /tasks/{id} has the whole description. */
export const DESCRIPTION_PREVIEW_CHARS = 200
export const DEFAULT_INSPECTORS = 100

const INSPECTORS = new Listing('dashboard-inspectors', ['id'] as const)

export interface DashboardRequest extends PageRequest {
  /** Hours of series, the current one last. */
  hours: number
  /** Minutes east of UTC of the viewer's clock: where "today" and the hours begin. */
  tzOffsetMinutes: number
  state?: PersonState
}

export interface InspectorStatus {
  id: number
  name: string
  state: PersonState
  current_task: { id: number; description: string; assigned_at: string } | null
  done_today: number
}

export interface HourPoint {
  /** The hour's start. */
  hour: string
  completed: number
  assignments_started: number
  mean_wait_ms: number | null
}

export interface Dashboard {
  generated_at: string
  today_start: string
  tz_offset_minutes: number
  counters: {
    pending: number
    in_progress: number
    done_today: number
    cancelled_today: number
    assignments_last_hour: number
    mean_wait_ms: number | null
    p95_wait_ms: number | null
  }
  inspectors: {
    /** Inspectors in the state asked for (all of them when none was). */
    total: number
    by_state: Record<PersonState, number>
    items: InspectorStatus[]
    next_cursor: string | null
  }
  series: HourPoint[]
}

/** One assignment as the export writes it. */
export interface HistoryEntry {
  assignment_id: number
  task_id: number
  task_description: string
  person_id: number
  person_name: string
  assigned_at: string
  ended_at: string | null
  start_reason: StartReason
  end_reason: EndReason | null
  started_by: string | null
  ended_by: string | null
  /** From the task's creation to this assignment's start. */
  wait_ms: number
}

export interface ExportRange {
  from: Date
  to: Date
}

/**
 * What a supervisor watches and takes away: the live dashboard and the assignment history
 * by time. Plain reads, no locks; the clock is the service's, so "today" and "the last
 * hour" move with it.
 */
export class Reports {
  constructor(
    private readonly store: Store,
    private readonly clock: () => Date,
  ) {}

  /**
   * The queries run one after another: run side by side they would take that many pooled
   * connections from the requests that assign work, once per open console.
   */
  async dashboard(request: DashboardRequest): Promise<Dashboard> {
    const { db, reports } = this.store
    const now = this.clock()
    const offsetMs = request.tzOffsetMinutes * MINUTE_MS
    const todayStart = startOf(now, DAY_MS, offsetMs)
    const today = [toDbTime(todayStart), toDbTime(new Date(todayStart.getTime() + DAY_MS))] as const
    // Half-open ranges: a millisecond past now takes in what happened at now.
    const lastHour = [
      toDbTime(new Date(now.getTime() - HOUR_MS)),
      toDbTime(new Date(now.getTime() + 1)),
    ] as const

    const open = await reports.countOpenTasks(db)
    const ended = await reports.countEnded(db, ...today)
    const waits = await reports.waitSummary(db, ...lastHour)
    const p95 =
      waits.count === 0
        ? null
        : await reports.waitAtRank(db, ...lastHour, Math.ceil(waits.count * 0.95) - 1)
    const inspectors = await this.inspectors(request, today)
    const series = await this.series(now, request.hours, offsetMs)

    return {
      generated_at: now.toISOString(),
      today_start: todayStart.toISOString(),
      tz_offset_minutes: request.tzOffsetMinutes,
      counters: {
        pending: open.pending,
        in_progress: open.inProgress,
        done_today: ended.done,
        cancelled_today: ended.cancelled,
        assignments_last_hour: waits.count,
        mean_wait_ms: waits.meanMs,
        p95_wait_ms: p95,
      },
      inspectors,
      series,
    }
  }

  /** The range an export covers, checked: ISO 8601 times, from before to, at most 31 days. */
  exportRange(from: string, to: string): ExportRange {
    const start = new Date(from)
    const end = new Date(to)
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) {
      throw new InvalidInputError(
        'BAD_RANGE',
        'from and to must be ISO 8601 times with a zone, such as 2026-03-02T00:00:00Z.',
      )
    }
    if (start >= end) {
      throw new InvalidInputError(
        'BAD_RANGE',
        `from (${start.toISOString()}) must be before to (${end.toISOString()}); ` +
          'the range includes from and excludes to.',
      )
    }
    if (end.getTime() - start.getTime() > MAX_EXPORT_DAYS * DAY_MS) {
      throw new InvalidInputError(
        'BAD_RANGE',
        `One export covers at most ${MAX_EXPORT_DAYS} days; split the range into several.`,
      )
    }

    return { from: start, to: end }
  }

  /**
   * The assignments started in the range, oldest first, a page at a time: only one page is
   * ever held, and each is read when the previous one has been taken.
   */
  async *history(range: ExportRange): AsyncGenerator<HistoryEntry[]> {
    const { db, reports } = this.store
    const from = toDbTime(range.from)
    const to = toDbTime(range.to)
    let after: [string, number] | undefined
    for (;;) {
      const rows = await reports.history(db, { from, to, after, limit: EXPORT_PAGE })
      if (rows.length > 0) yield rows.map(historyEntry)
      const last = rows.at(-1)
      if (rows.length < EXPORT_PAGE || last === undefined) return
      after = [last.assigned_at, last.id]
    }
  }

  private async inspectors(
    request: DashboardRequest,
    today: readonly [string, string],
  ): Promise<Dashboard['inspectors']> {
    const { db, reports, persons } = this.store
    const limit = request.limit ?? DEFAULT_INSPECTORS
    const rows = await reports.inspectors(db, {
      state: request.state,
      afterId: INSPECTORS.after(request)?.[0],
      limit: limit + 1,
      // One more than shown tells a cut description from one that fits.
      descriptionChars: DESCRIPTION_PREVIEW_CHARS + 1,
    })
    const shown = rows.slice(0, limit)
    const done = await reports.completedBy(
      db,
      shown.map((row) => row.id),
      ...today,
    )
    const page = INSPECTORS.page(
      rows,
      { ...request, limit },
      (row) => inspectorStatus(row, done.get(row.id) ?? 0),
      (row) => [row.id],
    )
    const byState = await persons.countByState(db)
    const total = request.state
      ? byState[request.state]
      : byState.offline + byState.free + byState.busy

    return { total, by_state: byState, ...page }
  }

  /** The last `hours` hours of the viewer's clock, the current (unfinished) one last. */
  private async series(now: Date, hours: number, offsetMs: number): Promise<HourPoint[]> {
    const { db, reports } = this.store
    const current = startOf(now, HOUR_MS, offsetMs).getTime()
    const starts = Array.from({ length: hours }, (_, i) => current - (hours - 1 - i) * HOUR_MS)
    const bounds = [...starts, current + HOUR_MS].map((ms) => toDbTime(new Date(ms)))
    const completed = await reports.completedPerBucket(db, bounds)
    const waits = await reports.waitsPerBucket(db, bounds)

    return starts.map((start, i) => ({
      hour: new Date(start).toISOString(),
      completed: completed.get(i) ?? 0,
      assignments_started: waits.get(i)?.count ?? 0,
      mean_wait_ms: waits.get(i)?.meanMs ?? null,
    }))
  }
}

/** The start of the day or hour holding `now` on a clock `offsetMs` ahead of UTC. */
function startOf(now: Date, unitMs: number, offsetMs: number): Date {
  const local = now.getTime() + offsetMs

  return new Date(local - mod(local, unitMs) - offsetMs)
}

function mod(value: number, divisor: number): number {
  return ((value % divisor) + divisor) % divisor
}

function inspectorStatus(row: InspectorRow, doneToday: number): InspectorStatus {
  const state: PersonState = !row.is_logged_in ? 'offline' : row.is_busy ? 'busy' : 'free'
  const task =
    row.task_id !== null && row.assigned_at !== null
      ? {
          id: row.task_id,
          description: preview(row.description ?? ''),
          assigned_at: isoFromDbTime(row.assigned_at),
        }
      : null

  return { id: row.id, name: row.name, state, current_task: task, done_today: doneToday }
}

/** At most DESCRIPTION_PREVIEW_CHARS characters (code points, as the stores count them). */
function preview(text: string): string {
  const characters = Array.from(text)
  if (characters.length <= DESCRIPTION_PREVIEW_CHARS) return text

  return `${characters.slice(0, DESCRIPTION_PREVIEW_CHARS - 1).join('')}…`
}

function historyEntry(row: HistoryRow): HistoryEntry {
  return {
    assignment_id: row.id,
    task_id: row.task_id,
    task_description: row.description,
    person_id: row.person_id,
    person_name: row.person_name,
    assigned_at: isoFromDbTime(row.assigned_at),
    ended_at: isoOrNull(row.completed_at),
    start_reason: row.start_reason,
    end_reason: row.end_reason,
    started_by: row.started_by,
    ended_by: row.ended_by,
    wait_ms: fromDbTime(row.assigned_at).getTime() - fromDbTime(row.task_created_at).getTime(),
  }
}
