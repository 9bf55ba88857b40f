import { get } from './api.js'
import type { HourPoint } from './chart.js'

/** What the supervisor view shows, read from GET /dashboard. */
export interface Dashboard {
  totals: {
    pending: number
    inProgress: number
    doneToday: number
    meanWaitMs: number | null
    p95WaitMs: number | null
  }
  inspectors: {
    id: number
    name: string
    state: 'offline' | 'free' | 'busy'
    task: { id: number; description: string; assigned_at: string } | null
    doneToday: number
  }[]
  /** All inspectors; `inspectors` holds the first page of them. */
  inspectorTotal: number
  hours: HourPoint[]
}

export async function loadDashboard(): Promise<Dashboard> {
  // "Today" and the hours are the supervisor's own, wherever the service's clock runs.
  const offset = -new Date().getTimezoneOffset()
  const answer = await get<DashboardAnswer>(`/dashboard?hours=8&tz_offset_minutes=${offset}`)

  return {
    totals: {
      pending: answer.counters.pending,
      inProgress: answer.counters.in_progress,
      doneToday: answer.counters.done_today,
      meanWaitMs: answer.counters.mean_wait_ms,
      p95WaitMs: answer.counters.p95_wait_ms,
    },
    inspectors: answer.inspectors.items.map((person) => ({
      id: person.id,
      name: person.name,
      state: person.state,
      task: person.current_task,
      doneToday: person.done_today,
    })),
    inspectorTotal: answer.inspectors.total,
    hours: answer.series.map((point) => ({
      hour: point.hour,
      completed: point.completed,
      mean_wait_ms: point.mean_wait_ms,
    })),
  }
}

/** The service's answer, as far as this view reads it. */
interface DashboardAnswer {
  counters: {
    pending: number
    in_progress: number
    done_today: number
    mean_wait_ms: number | null
    p95_wait_ms: number | null
  }
  inspectors: {
    total: number
    items: {
      id: number
      name: string
      state: 'offline' | 'free' | 'busy'
      current_task: { id: number; description: string; assigned_at: string } | null
      done_today: number
    }[]
  }
  series: { hour: string; completed: number; mean_wait_ms: number | null }[]
}
