// Inspectors working through a backlog over HTTP: each completion's answer carries their
// next task, so the only request they send is POST /tasks/{id}/complete.
import type { FloorInspector } from './floor.js'
import { expectStatus, type HttpClient } from './load.js'

export type Inspector = FloorInspector

interface TaskBody {
  id: number
  status: string
}

/** Logs each inspector in; with a backlog, each gets a task in the answer. */
export async function logIn(client: HttpClient, personIds: number[]): Promise<Inspector[]> {
  const inspectors: Inspector[] = []
  for (const personId of personIds) {
    const reply = await client.post<{ task: TaskBody | null }>('/login', { person_id: personId })
    expectStatus(reply, 200, 'POST /login')
    inspectors.push({ personId, taskId: reply.body.task?.id ?? null })
  }

  return inspectors
}

/**
 * One completion by `inspector`, who then holds the next task from the answer. With no task
 * in hand (someone else got the task their completion freed), they look up their own state.
 */
export async function completeOverHttp(client: HttpClient, inspector: Inspector): Promise<boolean> {
  if (inspector.taskId === null) {
    const reply = await client.get<{ current_task_id: number | null }>(
      `/persons/${inspector.personId}`,
    )
    expectStatus(reply, 200, 'GET /persons/{id}')
    inspector.taskId = reply.body.current_task_id
    if (inspector.taskId === null) return false
  }
  const reply = await client.post<{ next_task: TaskBody | null }>(
    `/tasks/${inspector.taskId}/complete`,
    { person_id: inspector.personId },
  )
  if (reply.status === 409) {
    // Not theirs any more (a retried request elsewhere); find out what they hold.
    inspector.taskId = null
    const { code } = reply.body as { code?: string }
    throw new Error(`complete: HTTP 409 ${code ?? ''}`.trim())
  }
  expectStatus(reply, 200, 'POST /tasks/{id}/complete')
  inspector.taskId = reply.body.next_task?.id ?? null

  return true
}

export function inspectorAt(inspectors: Inspector[], index: number): Inspector {
  const inspector = inspectors[index]
  if (!inspector) throw new Error(`no inspector ${index}`)

  return inspector
}
