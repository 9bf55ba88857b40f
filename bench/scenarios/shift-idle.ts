// "No inspector idle while a task waits", checked on the service's own timestamps: a task
// waits from created_at to assigned_at; an inspector is free from the end of one assignment
// to the start of the next. Any moment inside the window with both is a miss.

export interface ShiftTimeline {
  tasks: { created: number; assigned: number | null }[]
  /** Every assignment of the shift's inspectors, by inspector, in order. */
  assignments: { personId: number; assigned: number; ended: number | null }[]
  /** The window checked, in epoch ms. */
  from: number
  to: number
}

export interface IdleWhileWaiting {
  totalMs: number
  episodes: number
  longestMs: number
}

export function waitingWhileIdle(timeline: ShiftTimeline): IdleWhileWaiting {
  const events: { at: number; pending: number; free: number }[] = []
  for (const task of timeline.tasks) {
    events.push({ at: task.created, pending: 1, free: 0 })
    events.push({ at: task.assigned ?? Number.POSITIVE_INFINITY, pending: -1, free: 0 })
  }
  const byPerson = new Map<number, { assigned: number; ended: number | null }[]>()
  for (const a of timeline.assignments) {
    byPerson.set(a.personId, [...(byPerson.get(a.personId) ?? []), a])
  }
  for (const assignments of byPerson.values()) {
    // Free before the first assignment (logged in earlier), between them, and after the last.
    let freeSince = Number.NEGATIVE_INFINITY
    for (const a of assignments) {
      events.push({ at: freeSince, free: 1, pending: 0 }, { at: a.assigned, free: -1, pending: 0 })
      freeSince = a.ended ?? Number.POSITIVE_INFINITY
    }
    events.push({ at: freeSince, free: 1, pending: 0 })
  }
  events.sort((a, b) => a.at - b.at)

  let pending = 0
  let free = 0
  let totalMs = 0
  let episodes = 0
  let longestMs = 0
  let current = 0
  for (let i = 0; i < events.length; i++) {
    const event = events[i]
    if (!event) continue
    pending += event.pending
    free += event.free
    const nextAt = events[i + 1]?.at ?? event.at
    // Only after every event of the same instant: a pair made in one transaction shares one
    // timestamp and is not a miss.
    if (nextAt === event.at) continue
    const from = Math.max(event.at, timeline.from)
    const to = Math.min(nextAt, timeline.to)
    if (pending > 0 && free > 0 && to > from) {
      if (current === 0) episodes++
      current += to - from
      totalMs += to - from
      longestMs = Math.max(longestMs, current)
    } else if (to > from) {
      current = 0
    }
  }

  return { totalMs, episodes, longestMs }
}
