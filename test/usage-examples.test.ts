// The original design's usage examples, run with curl against the real server as the README
// writes them: the design's lines (`-d` without a Content-Type, a trailing slash on /tasks/,
// task 5 completed by its id) plus the API key header, with a key made by `npm run keys`.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { runToExit, ServiceProcess } from './support/service-process.js'
import { MARIADB_SKIP, type StoreName, TestDatabase } from './support/stores.js'

/** As in the README's "Usage examples", character for character. */
const AUTH = '-H "Authorization: Bearer $QC_KEY"'
const EXAMPLES = {
  login: `curl -X POST http://localhost:8000/login ${AUTH} -d '{"person_id":1}'`,
  createTask:
    `curl -X POST http://localhost:8000/tasks/ ${AUTH} ` +
    `-d '{"description":"Inspect batch #123"}'`,
  completeTask: `curl -X POST http://localhost:8000/tasks/5/complete ${AUTH}`,
  availablePersons: `curl http://localhost:8000/persons/available ${AUTH}`,
  pendingTasks: `curl http://localhost:8000/tasks/pending ${AUTH}`,
}

interface Task {
  id: number
  description: string
  status: string
  assigned_person_id: number | null
}

interface Person {
  id: number
  state: string
  is_logged_in: boolean
  is_busy: boolean
}

interface Page<T> {
  items: T[]
  next_cursor: string | null
}

interface CurlReply {
  status: number
  contentType: string
  body: unknown
}

/**
 * The words of a shell line as the examples write them: single quotes kept literal, double
 * quotes with $QC_KEY as their only expansion.
 */
function shellWords(line: string, key: string): string[] {
  const outside = line.replace(/'[^']*'|"[^"]*"/g, '')
  const doubleQuoted = [...line.matchAll(/"([^"]*)"/g)].map((match) => match[1] ?? '')
  if (/["\\$`]/.test(outside) || doubleQuoted.some((text) => /[\\`]|\$(?!QC_KEY)/.test(text))) {
    throw new Error(`shellWords() does not understand this line: ${line}`)
  }

  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((match) =>
    match[1] !== undefined ? match[1] : (match[2] ?? match[3] ?? '').replaceAll('$QC_KEY', key),
  )
}

const execFileAsync = promisify(execFile)

// Appended after the example's own arguments; they only change what curl prints, not what it
// sends. --write-out puts the status and the media type on two lines after the body.
const OBSERVE = ['--silent', '--show-error', '--max-time', '10']
const WRITE_OUT = ['--write-out', '\\n%{http_code}\\n%{content_type}']

async function curl(example: string, port: number, key: string): Promise<CurlReply> {
  const line = example.replace('localhost:8000', `localhost:${port}`)
  const [command, ...args] = shellWords(line, key)
  assert.equal(command, 'curl')
  const { stdout } = await execFileAsync('curl', [...args, ...OBSERVE, ...WRITE_OUT], {
    timeout: 15_000,
    // A proxy from the environment must not stand between curl and our own loopback server.
    env: { ...process.env, NO_PROXY: '*', no_proxy: '*' },
  })
  const lines = stdout.split('\n')
  const contentType = lines.pop() ?? ''
  const status = Number(lines.pop())
  const text = lines.join('\n')

  return {
    status,
    contentType,
    body: contentType.includes('json') ? JSON.parse(text) : text,
  }
}

const skips: Record<StoreName, string | false> = { sqlite: false, mariadb: MARIADB_SKIP }

for (const kind of ['sqlite', 'mariadb'] as const) {
  describe(`the original usage examples (${kind})`, { skip: skips[kind], timeout: 60_000 }, () => {
    let database: TestDatabase | undefined
    let service: ServiceProcess | undefined

    const port = () => {
      if (!service) throw new Error('the service starts in before()')
      return service.port
    }
    let key = ''
    const run = (example: string) => curl(example, port(), key)
    const post = async <T>(path: string, body?: unknown) => {
      const response = await fetch(`http://127.0.0.1:${port()}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      })

      return { status: response.status, body: (await response.json()) as T }
    }

    before(async () => {
      database = await TestDatabase.create(kind)
      // The README's first step: an admin key from the command line, shown once.
      const made = await runToExit('src/cli/keys.ts', { DATABASE_URL: database.url }, [
        'create',
        '--role',
        'admin',
        '--name',
        'readme',
      ])
      assert.equal(made.code, 0, made.stderr)
      key = made.stdout.trim().split('\n').at(-1) ?? ''
      assert.match(key, /^qck_[\w-]{43}$/)
      // No ADMIN_API_KEY: the examples must work with the stored key alone.
      service = await ServiceProcess.start({ DATABASE_URL: database.url, ADMIN_API_KEY: '' })

      // The examples log in person 1, so a fresh database gets one inspector first.
      const created = await post<Person>('/persons', { name: 'Ann' })
      assert.equal(created.status, 201)
      assert.equal(created.body.id, 1)
    })

    after(async () => {
      await service?.stop()
      await database?.drop()
    })

    test('nobody is available before the login example', async () => {
      const reply = await run(EXAMPLES.availablePersons)

      assert.equal(reply.status, 200)
      assert.match(reply.contentType, /^application\/json/)
      assert.deepEqual((reply.body as Page<Person>).items, [])
    })

    test('the login example makes person 1 free and lists them as available', async () => {
      const login = await run(EXAMPLES.login)

      assert.equal(login.status, 200, JSON.stringify(login.body))
      const { person, task } = login.body as { person: Person; task: Task | null }
      assert.equal(person.id, 1)
      assert.equal(person.state, 'free')
      assert.equal(person.is_logged_in, true)
      assert.equal(person.is_busy, false)
      assert.equal(task, null)

      const available = await run(EXAMPLES.availablePersons)
      assert.deepEqual(
        (available.body as Page<Person>).items.map((p) => p.id),
        [1],
      )
    })

    test('the create-task example while person 1 is free answers IN_PROGRESS', async () => {
      const reply = await run(EXAMPLES.createTask)

      assert.equal(reply.status, 201, JSON.stringify(reply.body))
      const task = reply.body as Task
      assert.equal(task.id, 1)
      assert.equal(task.description, 'Inspect batch #123')
      assert.equal(task.status, 'IN_PROGRESS')
      assert.equal(task.assigned_person_id, 1)
    })

    test('tasks created by the example while person 1 is busy wait in /tasks/pending', async () => {
      // Tasks 2 to 6: task 5 is the one the completion example names, task 6 its successor.
      for (const id of [2, 3, 4, 5, 6]) {
        const reply = await run(EXAMPLES.createTask)
        assert.equal(reply.status, 201, JSON.stringify(reply.body))
        assert.deepEqual(
          { id: (reply.body as Task).id, status: (reply.body as Task).status },
          { id, status: 'PENDING' },
        )
      }

      const pending = await run(EXAMPLES.pendingTasks)
      assert.equal(pending.status, 200)
      assert.match(pending.contentType, /^application\/json/)
      assert.deepEqual(
        (pending.body as Page<Task>).items.map((t) => t.id),
        [2, 3, 4, 5, 6],
      )
      const available = await run(EXAMPLES.availablePersons)
      assert.deepEqual((available.body as Page<Person>).items, [])
    })

    test('the complete example finishes task 5 and answers task 6 as next_task', async () => {
      // Tasks 1 to 4 go first (setup, not an example), so task 5 is the one in progress.
      for (const id of [1, 2, 3, 4]) {
        const done = await post<{ next_task: Task | null }>(`/tasks/${id}/complete`)
        assert.equal(done.status, 200, JSON.stringify(done.body))
        assert.equal(done.body.next_task?.id, id + 1)
      }

      const reply = await run(EXAMPLES.completeTask)

      assert.equal(reply.status, 200, JSON.stringify(reply.body))
      const { completed, next_task } = reply.body as { completed: Task; next_task: Task | null }
      assert.equal(completed.id, 5)
      assert.equal(completed.status, 'DONE')
      assert.equal(next_task?.id, 6)
      assert.equal(next_task?.status, 'IN_PROGRESS')
      assert.equal(next_task?.assigned_person_id, 1)
    })

    test('after the last task is handed out both status examples answer empty lists', async () => {
      for (const example of [EXAMPLES.availablePersons, EXAMPLES.pendingTasks]) {
        const reply = await run(example)

        assert.equal(reply.status, 200)
        assert.match(reply.contentType, /^application\/json/)
        assert.deepEqual(reply.body, { items: [], next_cursor: null })
      }
    })
  })
}
