// The console in a real browser (Debian's Chromium, driven by playwright-core): an inspector
// signs in, a supervisor creates work, the inspector's page shows it without a reload,
// completes it and sees the next; a second inspector is served fairly; the connection drops
// and comes back. QC_SCREENSHOTS=1 saves the two views under docs/ for the README.
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { ADMIN_AUTH } from './support/credentials.js'
import { ServiceProcess } from './support/service-process.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ON_CI = process.env.CI === 'true'
const ROOT = new URL('..', import.meta.url).pathname
const SHOTS = process.env.QC_SCREENSHOTS === '1' ? join(ROOT, 'docs') : null
const WAIT_MS = 5000

const missing = existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM}; apt-get install chromium (or set CHROMIUM_PATH)`
if (missing && ON_CI) throw new Error(`CI=true but ${missing}`)

describe('the console in a browser', { skip: missing, timeout: 120_000 }, () => {
  let scratch = ''
  let service: ServiceProcess | undefined
  let browser: Browser | undefined
  const contexts: BrowserContext[] = []
  let supervisorKey = ''

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${service?.baseUrl}${path}`, {
      method,
      headers: { ...ADMIN_AUTH, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    })
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`)
    return (await response.json()) as any
  }

  const newPage = async (width: number, height: number): Promise<Page> => {
    const context = await (browser as Browser).newContext({ viewport: { width, height } })
    contexts.push(context)
    const page = await context.newPage()
    page.setDefaultTimeout(WAIT_MS)
    await page.goto(`${service?.baseUrl}/`)
    // Marks the document: if the page ever reloads, the mark is gone.
    await page.evaluate(() => {
      ;(globalThis as any).stayed = true
    })
    return page
  }

  const signInInspector = async (page: Page, badge: string) => {
    await page.fill('#who', badge)
    await page.fill('#pin', '2468')
    await page.click('#inspector-sign-in button[type=submit]')
  }

  const taskShown = (page: Page, description: string) =>
    page.waitForFunction(
      (text) =>
        (globalThis as any).document.getElementById('task-description')?.textContent === text,
      description,
      { timeout: WAIT_MS },
    )

  const createTask = async (page: Page, description: string) => {
    await page.fill('#new-task', description)
    await page.click('#create-task button[type=submit]')
  }

  const neverReloaded = async (page: Page) =>
    assert.equal(await page.evaluate(() => (globalThis as any).stayed), true)

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'qc-assign-console-'))
    service = await ServiceProcess.start({
      DATABASE_URL: `sqlite:${join(scratch, 'qc.sqlite')}`,
      EVENT_POLL_MS: '100',
    })
    supervisorKey = (await api('POST', '/api-keys', { name: 'lead', role: 'supervisor' })).key
    await api('POST', '/persons', { name: 'Ann', badge_code: 'A-1', pin: '2468' })
    await api('POST', '/persons', { name: 'Bob', badge_code: 'B-2', pin: '2468' })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
  })

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {})
    await browser?.close()
    await service?.stop()
    if (scratch) rmSync(scratch, { recursive: true, force: true })
  })

  test('a task the supervisor creates appears on the inspector page, then the next', async () => {
    const ann = await newPage(1024, 768)
    await signInInspector(ann, 'A-1')
    await ann.waitForSelector('#no-task', { timeout: WAIT_MS })

    const lead = await newPage(1280, 1000)
    await lead.fill('#key', supervisorKey)
    await lead.click('#supervisor-sign-in button[type=submit]')
    await lead.waitForSelector('#count-pending', { timeout: WAIT_MS })

    await createTask(lead, 'Inspect weld seam 14')
    await taskShown(ann, 'Inspect weld seam 14')
    await createTask(lead, 'Check torque on line 3')
    await lead.waitForFunction(
      () => (globalThis as any).document.getElementById('count-pending')?.textContent === '1',
      undefined,
      { timeout: WAIT_MS },
    )

    await ann.click('#complete')
    await taskShown(ann, 'Check torque on line 3')
    await neverReloaded(ann)
    await neverReloaded(lead)
  })

  test('a second inspector is served fairly: the one free longest gets the next task', async () => {
    const [ann, lead] = contexts.map((context) => context.pages()[0] as Page)
    assert.ok(ann && lead)
    const bob = await newPage(1024, 768)
    await signInInspector(bob, 'B-2')
    await bob.waitForSelector('#no-task', { timeout: WAIT_MS })

    // Bob has been free since he signed in; Ann becomes free only now.
    await ann.click('#complete')
    await ann.waitForSelector('#no-task', { timeout: WAIT_MS })
    await createTask(lead, 'Measure flange B')
    await taskShown(bob, 'Measure flange B')
    await createTask(lead, 'Measure flange C')
    await taskShown(ann, 'Measure flange C')
  })

  test('when the connection drops the page says so, and recovers without a reload', async () => {
    const [ann, lead] = contexts.map((context) => context.pages()[0] as Page)
    assert.ok(ann && lead)
    await ann.click('#complete')
    await ann.waitForSelector('#no-task', { timeout: WAIT_MS })

    await contexts[0]?.setOffline(true)
    await ann.waitForSelector('#connection:not([hidden])', { timeout: WAIT_MS })
    // Work assigned while Ann's tablet is offline must reach her when it is back.
    await api('POST', '/tasks', { description: 'Inspect while offline' })
    await contexts[0]?.setOffline(false)

    await taskShown(ann, 'Inspect while offline')
    await ann.waitForSelector('#connection[hidden]', { state: 'attached', timeout: WAIT_MS })
    await neverReloaded(ann)
  })

  test('the inspector completes by keyboard alone', async () => {
    const [ann] = contexts.map((context) => context.pages()[0] as Page)
    assert.ok(ann)
    await api('POST', '/tasks', { description: 'Keyboard task' })
    await ann.waitForSelector('#complete:not([disabled])')
    await ann.focus('#complete')
    await ann.keyboard.press('Enter')

    await taskShown(ann, 'Keyboard task')
    // The new task's button takes presses once it has been on screen a moment, and has focus.
    await ann.waitForSelector('#complete:not([disabled]):focus')
    if (SHOTS) await ann.screenshot({ path: join(SHOTS, 'inspector.png') })
    await ann.keyboard.press('Space')
    await ann.waitForSelector('#no-task', { timeout: WAIT_MS })
  })

  test('a doubled tap on Complete completes one task, not the next one too', async () => {
    const [ann] = contexts.map((context) => context.pages()[0] as Page)
    assert.ok(ann)
    await api('POST', '/tasks', { description: 'First of two' })
    await taskShown(ann, 'First of two')
    await api('POST', '/tasks', { description: 'Second of two' })
    await ann.waitForSelector('#complete:not([disabled])')

    await ann.click('#complete')
    await ann.click('#complete', { force: true, delay: 0 }).catch(() => {})
    await taskShown(ann, 'Second of two')
    await new Promise((resolve) => setTimeout(resolve, 300))

    const second = (await api('GET', '/tasks?status=IN_PROGRESS')).items.find(
      (task: { description: string }) => task.description === 'Second of two',
    )
    assert.ok(second, 'the second task is still in progress')
    await ann.click('#complete')
    await ann.waitForSelector('#no-task')
  })

  test("the supervisor's counters and lists follow the shift without a reload", async () => {
    const [ann, lead] = contexts.map((context) => context.pages()[0] as Page)
    assert.ok(ann && lead)
    await api('POST', '/tasks', { description: 'Inspect paint finish, cab 7' })
    await taskShown(ann, 'Inspect paint finish, cab 7')
    await api('POST', '/tasks', { description: 'X-ray casting 5512' })

    // Ann completed seven tasks; she and Bob hold one each; one waits.
    const counters = { 'count-done-today': '7', 'count-in-progress': '2', 'count-pending': '1' }
    await lead.waitForFunction(
      (expected) =>
        Object.entries(expected).every(
          ([id, value]) => (globalThis as any).document.getElementById(id)?.textContent === value,
        ),
      counters,
      { timeout: WAIT_MS },
    )
    const rows = await lead.locator('#inspector-table tbody tr').allTextContents()
    assert.equal(rows.length, 2)
    assert.match(rows.join('\n'), /Ann\s*busy.*paint finish/)
    assert.match((await lead.locator('#queue-table').textContent()) ?? '', /X-ray casting 5512/)
    await neverReloaded(lead)
    if (SHOTS) await lead.screenshot({ path: join(SHOTS, 'supervisor.png'), fullPage: true })
  })

  test('a badge made of digits signs in its owner, not the person with that id', async () => {
    await api('POST', '/persons', { name: 'Cem', badge_code: '2', pin: '2468' })
    const station = await newPage(1024, 768)

    await signInInspector(station, '2')

    // Cem is served the task still waiting in the queue, under his own name.
    await taskShown(station, 'X-ray casting 5512')
    assert.equal(await station.textContent('h1.name'), 'Cem')
  })
})
