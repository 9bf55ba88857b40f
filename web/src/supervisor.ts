import { ApiError, authHeaders, get, post } from './api.js'
import { throughputChart } from './chart.js'
import { type Dashboard, loadDashboard } from './dashboard.js'
import { duration, el, since } from './format.js'
import { LiveStream } from './live.js'

interface Task {
  id: number
  description: string
  created_at: string
}

const REFRESH_GAP_MS = 1000

interface Page<T> {
  items: T[]
  next_cursor: string | null
}

/**
 * The QC lead's view: the queue, the inspectors, live counters and the last hours, with the
 * few actions a lead takes (create a task, release one, log someone out, export history).
 */
export function showSupervisor(root: HTMLElement, signOut: (why: string) => void): () => void {
  const message = el('p', { id: 'message', role: 'status' })
  const counters = el('section', { class: 'counters', 'aria-label': 'Counters' })
  const chart = el('section', { class: 'panel', 'aria-label': 'Last hours' })
  const queue = el('section', { class: 'panel', 'aria-label': 'Queue' })
  const people = el('section', { class: 'panel', 'aria-label': 'Inspectors' })
  let dashboard: Dashboard | null = null
  let pending: Task[] = []

  const act = async (what: () => Promise<unknown>, done: string) => {
    try {
      await what()
      message.textContent = done
      await refresh()
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return signOut('Your key was refused.')
      message.textContent = (error as Error).message
    }
  }

  const refresh = async () => {
    try {
      const [board, queued] = await Promise.all([
        loadDashboard(),
        get<Page<Task>>('/tasks/pending?limit=100'),
      ])
      dashboard = board
      pending = queued.items
      render()
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return signOut('Your key was refused.')
      message.textContent = (error as Error).message
    }
  }

  const render = () => {
    if (!dashboard) return
    const { totals } = dashboard
    const counter = (id: string, label: string, value: string) =>
      el('div', { class: 'counter' }, el('strong', { id }, value), el('span', {}, label))
    const wait = (ms: number | null) => (ms === null ? '–' : duration(ms))
    counters.replaceChildren(
      counter('count-pending', 'pending', String(totals.pending)),
      counter('count-in-progress', 'in progress', String(totals.inProgress)),
      counter('count-done-today', 'done today', String(totals.doneToday)),
      counter('wait-mean', 'mean wait, last hour', wait(totals.meanWaitMs)),
      counter('wait-p95', 'p95 wait, last hour', wait(totals.p95WaitMs)),
    )
    chart.replaceChildren(el('h2', {}, 'Last hours'), throughputChart(dashboard.hours))

    const queueRows = pending.map((task) =>
      el(
        'tr',
        { 'data-task-id': String(task.id) },
        el('td', {}, String(task.id)),
        el('td', {}, task.description),
        el('td', {}, since(task.created_at)),
        el(
          'td',
          {},
          actionButton('Cancel', () => post(`/tasks/${task.id}/cancel`)),
        ),
      ),
    )
    queue.replaceChildren(
      el('h2', {}, `Queue (${totals.pending})`),
      table(['Task', 'Description', 'Waiting', ''], queueRows, 'queue-table'),
    )

    const personRows = dashboard.inspectors.map((person) => {
      const actions = el('td', {})
      if (person.task) {
        const taskId = person.task.id
        actions.append(actionButton('Release task', () => post(`/tasks/${taskId}/release`)))
      }
      if (person.state !== 'offline') {
        actions.append(actionButton('Log out', () => post('/logout', { person_id: person.id })))
      }
      return el(
        'tr',
        { 'data-person-id': String(person.id) },
        el('td', {}, person.name),
        el('td', {}, el('span', { class: `state ${person.state}` }, person.state)),
        el('td', {}, person.task ? `${person.task.id}: ${person.task.description}` : '–'),
        el('td', {}, person.task ? since(person.task.assigned_at) : '–'),
        el('td', {}, String(person.doneToday)),
        actions,
      )
    })
    const shown = dashboard.inspectors.length
    const total = dashboard.inspectorTotal
    people.replaceChildren(
      el('h2', {}, shown < total ? `Inspectors (first ${shown} of ${total})` : 'Inspectors'),
      table(
        ['Inspector', 'State', 'Task', 'On it for', 'Done today', ''],
        personRows,
        'inspector-table',
      ),
    )
  }

  const actionButton = (label: string, action: () => Promise<unknown>) => {
    const button = el('button', { type: 'button', class: 'small' }, label)
    button.addEventListener('click', () => void act(action, `${label}: done.`))
    return button
  }

  root.replaceChildren(
    el('header', {}, el('h1', {}, 'QC console'), signOutButton(signOut)),
    counters,
    createForm(act),
    queue,
    people,
    chart,
    exportForm((text) => {
      message.textContent = text
    }),
    message,
  )

  // At most one refresh a second, and always one after the last event: a busy floor's
  // stream of events must neither freeze the view nor flood the service with reads.
  let later: ReturnType<typeof setTimeout> | undefined
  let lastRefresh = 0
  const soon = () => {
    if (later !== undefined) return
    const wait = Math.max(0, lastRefresh + REFRESH_GAP_MS - Date.now())
    later = setTimeout(() => {
      later = undefined
      lastRefresh = Date.now()
      void refresh()
    }, wait)
  }
  const stream = new LiveStream({
    onEvents: soon,
    onOpen: soon,
    onUnauthorized: () => signOut('Your key was refused.'),
  })
  stream.start()
  // Ages and times on task move even when nothing happens.
  const ticking = setInterval(render, 5000)

  return () => {
    stream.stop()
    clearInterval(ticking)
    clearTimeout(later)
  }
}

function table(headings: string[], rows: HTMLElement[], id: string): HTMLElement {
  return el(
    'table',
    { id },
    el('thead', {}, el('tr', {}, ...headings.map((text) => el('th', { scope: 'col' }, text)))),
    el('tbody', {}, ...rows),
  )
}

function signOutButton(signOut: (why: string) => void): HTMLElement {
  const button = el('button', { type: 'button', id: 'sign-out' }, 'Sign out')
  button.addEventListener('click', () => signOut('Signed out.'))
  return button
}

function createForm(act: (what: () => Promise<unknown>, done: string) => Promise<void>) {
  const input = el('input', {
    id: 'new-task',
    name: 'description',
    required: '',
    maxlength: '10000',
    placeholder: 'What to inspect',
    'aria-label': 'New task description',
  })
  const form = el(
    'form',
    { class: 'create', id: 'create-task' },
    input,
    el('button', { type: 'submit', class: 'primary' }, 'Create task'),
  )
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const description = input.value.trim()
    if (!description) return
    void act(() => post('/tasks', { description }), 'Task created.').then(() => {
      input.value = ''
    })
  })
  return form
}

/** Assignment history as CSV; fetched with the key, since a plain link cannot carry it. */
function exportForm(say: (text: string) => void) {
  const now = new Date()
  const today = [now.getFullYear(), now.getMonth() + 1, now.getDate()]
    .map((part) => String(part).padStart(2, '0'))
    .join('-')
  const from = el('input', { type: 'date', id: 'export-from', value: today, 'aria-label': 'From' })
  const to = el('input', { type: 'date', id: 'export-to', value: today, 'aria-label': 'To' })
  const form = el(
    'form',
    { class: 'export', id: 'export' },
    el('h2', {}, 'Export assignments'),
    from,
    to,
    el('button', { type: 'submit' }, 'Download CSV'),
  )
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    if (!from.value || !to.value) {
      say('Choose both dates.')
      return
    }
    // Whole days on the supervisor's own clock, as the dashboard counts them.
    const [start, end] = [from.value, to.value].map((day) => new Date(`${day}T00:00:00`))
    if (!start || !end) return
    end.setDate(end.getDate() + 1)
    const query = new URLSearchParams({ from: start.toISOString(), to: end.toISOString() })
    let response: Response
    try {
      response = await fetch(`/assignments/export?${query}`, { headers: authHeaders() })
    } catch {
      say('The service cannot be reached; try the export again.')
      return
    }
    if (!response.ok) {
      const problem = (await response.json().catch(() => ({}))) as { detail?: string }
      say(problem.detail ?? `The export failed (${response.status}).`)
      return
    }
    const link = el('a', {
      href: URL.createObjectURL(await response.blob()),
      download: `assignments-${from.value}-to-${to.value}.csv`,
    })
    link.click()
    URL.revokeObjectURL(link.href)
    say('Export downloaded.')
  })
  return form
}
