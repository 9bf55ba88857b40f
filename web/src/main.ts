import { ApiError, get, onReachability, post } from './api.js'
import { el } from './format.js'
import { showInspector } from './inspector.js'
import { type Credential, forgetCredential, saveCredential, savedCredential } from './session.js'
import { showSupervisor } from './supervisor.js'

const app = document.getElementById('app') as HTMLElement
const banner = document.getElementById('connection') as HTMLElement
let leave: (() => void) | null = null

onReachability((online) => {
  banner.hidden = online
  banner.textContent = online ? '' : 'Connection lost. Reconnecting…'
})

function open(credential: Credential | null, notice = ''): void {
  leave?.()
  leave = null
  if (!credential) {
    signInPage(notice)
    return
  }
  const signOut = (why: string) => {
    forgetCredential()
    open(null, why)
  }
  leave =
    credential.kind === 'inspector' ? showInspector(app, signOut) : showSupervisor(app, signOut)
}

function signInPage(notice: string): void {
  const who = el('input', {
    id: 'who',
    required: '',
    autocomplete: 'username',
    'aria-label': 'Badge',
  })
  // Badges may be all digits, so the kind is chosen, never guessed from the text.
  const kind = el(
    'select',
    { id: 'who-kind', 'aria-label': 'Sign in with' },
    el('option', { value: 'badge' }, 'Badge'),
    el('option', { value: 'person' }, 'Person id'),
  )
  const pin = el('input', {
    id: 'pin',
    type: 'password',
    required: '',
    minlength: '4',
    autocomplete: 'current-password',
    'aria-label': 'PIN',
  })
  const inspectorForm = el(
    'form',
    { id: 'inspector-sign-in', class: 'sign-in' },
    el('h2', {}, 'Inspector'),
    el('label', { for: 'who' }, 'Badge or person id'),
    el('div', { class: 'who' }, kind, who),
    el('label', { for: 'pin' }, 'PIN'),
    pin,
    el('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  )
  const key = el('input', { id: 'key', type: 'password', required: '', 'aria-label': 'API key' })
  const supervisorForm = el(
    'form',
    { id: 'supervisor-sign-in', class: 'sign-in' },
    el('h2', {}, 'Supervisor'),
    el('label', { for: 'key' }, 'API key (supervisor or admin)'),
    key,
    el('button', { type: 'submit' }, 'Open the console'),
  )
  const message = el('p', { id: 'message', role: 'status' }, notice)
  app.replaceChildren(el('h1', {}, 'QC assignments'), inspectorForm, supervisorForm, message)

  inspectorForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    const name = who.value.trim()
    const body =
      kind.value === 'person'
        ? { person_id: Number(name), pin: pin.value }
        : { badge_code: name, pin: pin.value }
    try {
      const answer = await post<{ session: { token: string } }>('/login', body)
      const credential: Credential = { kind: 'inspector', token: answer.session.token }
      saveCredential(credential)
      open(credential)
    } catch (error) {
      message.textContent = (error as Error).message
    }
  })
  supervisorForm.addEventListener('submit', async (event) => {
    event.preventDefault()
    const credential: Credential = { kind: 'supervisor', token: key.value.trim() }
    saveCredential(credential)
    try {
      const me = await get<{ role: string }>('/me')
      if (me.role !== 'supervisor' && me.role !== 'admin') {
        throw new Error(`This key has the ${me.role} role; the console needs a supervisor key.`)
      }
      open(credential)
    } catch (error) {
      forgetCredential()
      message.textContent =
        error instanceof ApiError && error.status === 401
          ? 'That key was not accepted.'
          : (error as Error).message
    }
  })
}

open(savedCredential())
