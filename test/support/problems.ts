import assert from 'node:assert/strict'
import type { Reply } from './stores.js'

/** Internal details that must never reach a client. */
const LEAKS = [
  /\bselect\b[\s\S]*\bfrom\b/i,
  /\binsert\s+into\b/i,
  /\bupdate\b[\s\S]*\bset\b[\s\S]*\bwhere\b/i,
  /\n\s+at\s/,
  /\bat\s.+:\d+:\d+/,
  /node_modules|\.ts:\d+|\.js:\d+/,
  /\bER_[A-Z_]+|SQLITE_[A-Z_]+|errno/,
]

export function assertNoLeak(reply: Reply): void {
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body)
  for (const leak of LEAKS) assert.doesNotMatch(text, leak)
}

/** Every error answer is RFC 9457 problem+json and tells nothing about the internals. */
export function assertProblem(reply: Reply, status: number, code?: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body))
  assert.match(reply.contentType, /^application\/problem\+json/)
  const body = reply.body as Record<string, unknown>
  for (const field of ['type', 'title', 'detail', 'instance', 'code']) {
    assert.equal(typeof body[field], 'string', `problem field ${field}`)
  }
  assert.equal(body.status, status)
  assert.ok(String(body.detail).length > 0)
  if (code) assert.equal(body.code, code)
  assertNoLeak(reply)
}
