/** Who this browser tab acts as. Kept for the tab only: closing it forgets the credential. */
export interface Credential {
  kind: 'inspector' | 'supervisor'
  token: string
}

const KEY = 'qc-assign.credential'

export function savedCredential(): Credential | null {
  const text = sessionStorage.getItem(KEY)
  if (!text) return null
  try {
    return JSON.parse(text) as Credential
  } catch {
    return null
  }
}

export function saveCredential(credential: Credential): void {
  sessionStorage.setItem(KEY, JSON.stringify(credential))
}

export function forgetCredential(): void {
  sessionStorage.removeItem(KEY)
}
