import { savedCredential } from './session.js'

/** An answer the service refused, with its problem+json fields. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail)
  }
}

/** The network or the service is unreachable: worth retrying, unlike a refusal. */
export class OfflineError extends Error {}

type Listener = (online: boolean) => void
const listeners = new Set<Listener>()

/** Told whenever a request reaches the service or fails to. */
export function onReachability(listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

export function reachability(online: boolean): void {
  for (const listener of listeners) listener(online)
}

export function authHeaders(): Record<string, string> {
  const credential = savedCredential()
  return credential ? { authorization: `Bearer ${credential.token}` } : {}
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response
  try {
    response = await fetch(path, {
      method,
      headers: {
        ...authHeaders(),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    reachability(false)
    throw new OfflineError('The service cannot be reached.')
  }
  // A gateway error means the service is gone; a 503 of its own is an answer, not a lost link.
  reachability(response.status !== 502 && response.status !== 504)
  const text = await response.text()
  const data = parseJson(text)
  if (!response.ok) {
    const problem = (data ?? {}) as { code?: string; detail?: string }
    throw new ApiError(response.status, problem.code ?? 'ERROR', problem.detail ?? text)
  }

  return data as T
}

export const get = <T>(path: string) => call<T>('GET', path)
export const post = <T>(path: string, body?: unknown) => call<T>('POST', path, body)

/** An answer that is not JSON (a proxy's error page) reads as no body, not as a crash. */
function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null
  } catch {
    return null
  }
}
