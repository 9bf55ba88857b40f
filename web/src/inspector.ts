import { ApiError, get, OfflineError, post } from './api.js'
import { between, el, since } from './format.js'
import { LiveStream } from './live.js'

interface Task {
  id: number
  description: string
  status: string
  created_at: string
  assigned_at: string | null
}

interface Person {
  id: number
  name: string
  state: 'offline' | 'free' | 'busy'
}

interface Me {
  person: Person
  task: Task | null
}

const HEARTBEAT_MS = 20_000
/**
 * A new task's Complete button waits this long before it takes a press, so a bounced or
 * doubled tap cannot complete a task nobody has read.
 */
const SETTLE_MS = 700

/**
 * The inspector's station: their task, large, with one Complete button; kept current by the
 * live stream, so a new task appears without a reload.
 */
export function showInspector(root: HTMLElement, signOut: (why: string) => void): () => void {
  let me: Me | null = null
  let busy = false
  let shownTaskId: number | null = null
  let settledAt = 0
  const message = el('p', { id: 'message', role: 'status' })
  const view = el('section', { class: 'inspector', 'aria-live': 'polite' })
  root.replaceChildren(view, message)

  const failed = (error: unknown) => {
    if (error instanceof ApiError && error.status === 401) return signOut('Your session ended.')
    if (error instanceof ApiError && error.code === 'PERSON_NOT_LOGGED_IN') {
      return signOut('You were logged out.')
    }
    message.textContent =
      error instanceof OfflineError ? 'Waiting for the connection…' : (error as Error).message
  }

  const refresh = async () => {
    try {
      me = await get<Me>('/me')
      message.textContent = ''
      render()
    } catch (error) {
      failed(error)
    }
  }

  const complete = async (task: Task) => {
    if (busy) return
    busy = true
    render()
    try {
      const answer = await post<{ next_task: Task | null }>(`/tasks/${task.id}/complete`)
      const state = answer.next_task ? 'busy' : 'free'
      if (me) me = { person: { ...me.person, state }, task: answer.next_task }
      message.textContent = `Task ${task.id} done.`
    } catch (error) {
      failed(error)
    } finally {
      busy = false
      render()
    }
  }

  const render = () => {
    if (!me) return
    const { person, task } = me
    const header = el(
      'header',
      {},
      el('h1', { class: 'name' }, person.name),
      el('span', { class: `state ${person.state}` }, person.state),
      logoutButton(),
    )
    if (!task) {
      view.replaceChildren(
        header,
        el(
          'div',
          { class: 'idle', id: 'no-task' },
          el('h2', {}, 'No task right now'),
          el('p', {}, 'Your next task appears here the moment it is assigned to you.'),
        ),
      )
      return
    }
    if (task.id !== shownTaskId) {
      shownTaskId = task.id
      settledAt = Date.now() + SETTLE_MS
      setTimeout(render, SETTLE_MS)
    }
    const button = el('button', { id: 'complete', class: 'primary', type: 'button' }, 'Complete')
    button.disabled = busy || Date.now() < settledAt
    button.addEventListener('click', () => void complete(task))
    const hadFocus = document.activeElement === document.body || isComplete(document.activeElement)
    view.replaceChildren(
      header,
      el(
        'article',
        { class: 'task', id: 'current-task', 'data-task-id': String(task.id) },
        el('p', { class: 'label' }, `Task ${task.id}`),
        el(
          'h2',
          { id: 'task-description', class: task.description.length > 160 ? 'long' : '' },
          task.description,
        ),
        el(
          'dl',
          {},
          el('dt', {}, 'Waited'),
          el('dd', {}, between(task.created_at, task.assigned_at)),
          el('dt', {}, 'In progress for'),
          el('dd', { id: 'working' }, since(task.assigned_at)),
        ),
        button,
      ),
    )
    // At a station the one thing to press is Complete: keep it focused across redraws.
    if (hadFocus && !button.disabled) button.focus()
  }

  const logoutButton = () => {
    const button = el('button', { id: 'logout', type: 'button' }, 'Log out')
    button.addEventListener('click', async () => {
      try {
        await post('/logout')
      } catch {
        // Signed out here either way; the session ends on the service at its expiry at latest.
      }
      signOut('You are logged out.')
    })
    return button
  }

  let pending: ReturnType<typeof setTimeout> | undefined
  const soon = () => {
    clearTimeout(pending)
    pending = setTimeout(() => void refresh(), 50)
  }
  const stream = new LiveStream({
    onEvents: soon,
    onOpen: soon,
    onUnauthorized: () => signOut('Your session ended.'),
  })
  stream.start()
  const ticking = setInterval(() => {
    const working = document.getElementById('working')
    if (working && me?.task) working.textContent = since(me.task.assigned_at)
  }, 1000)
  const heartbeat = setInterval(() => void post('/heartbeat').catch(failed), HEARTBEAT_MS)
  void refresh()

  return () => {
    stream.stop()
    clearInterval(ticking)
    clearInterval(heartbeat)
    clearTimeout(pending)
  }
}

function isComplete(element: Element | null): boolean {
  return element instanceof HTMLElement && element.id === 'complete'
}
