// The credential of every client the harnesses run. It reaches the service as ADMIN_API_KEY,
// which the service checks in memory: requests keep their credential while a scenario has
// the database down or locked, so what the checks judge is the service's answer to the
// fault, never a failed key lookup. Admin, because only admins (and inspectors' sessions)
// may complete a task in someone's name.

/** A fixed test value, never a secret: it is only ever accepted by instances on loopback. */
export const HARNESS_ADMIN_KEY = 'qc-assign-harness-admin-key-0123456789abcdef'

export const HARNESS_AUTH = { authorization: `Bearer ${HARNESS_ADMIN_KEY}` }
