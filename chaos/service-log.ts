// Reads a service instance's log (pino JSON lines, at debug) back for the checks.
import { existsSync, readFileSync } from 'node:fs'

interface LogLine {
  level: number
  time: number
  msg: string
  reqId?: string
  code?: string
  err?: { type?: string; message?: string; code?: string; errno?: number }
}

export interface LogScan {
  lines: LogLine[]
  /** Lines no healthy service writes: stack traces, unhandled errors, fatal, 500s. */
  alarming: string[]
}

export function scanServiceLog(file: string): LogScan {
  const lines: LogLine[] = []
  const alarming: string[] = []
  if (!existsSync(file)) return { lines, alarming: [`no log file ${file}`] }

  for (const text of readFileSync(file, 'utf8').split('\n')) {
    if (text.trim() === '') continue
    let line: LogLine
    try {
      line = JSON.parse(text) as LogLine
    } catch {
      alarming.push(`a line that is not pino JSON: ${text.slice(0, 160)}`)
      continue
    }
    lines.push(line)
    if (line.level >= 60 || /unhandled/i.test(line.msg)) {
      alarming.push(`${line.msg}: ${describeError(line)}`)
    } else if (line.msg === 'request failed' && line.code === 'INTERNAL_ERROR') {
      alarming.push(`a 500: ${describeError(line)}`)
    }
  }

  return { lines, alarming }
}

function describeError(line: LogLine): string {
  const err = line.err
  if (!err) return '(no error attached)'

  return `${err.type ?? 'Error'} ${err.code ?? ''} ${err.errno ?? ''} ${err.message ?? ''}`
    .replace(/\s+/g, ' ')
    .slice(0, 200)
}

/** Request ids the instance finished answering ("request served", logged at debug). */
export function servedRequestIds(file: string): Set<string> {
  const ids = new Set<string>()
  for (const line of scanServiceLog(file).lines) {
    if (line.msg === 'request served' && line.reqId) ids.add(line.reqId)
  }

  return ids
}

/** When the sweeper finished a run (found work or not) at or after `since`, epoch ms. */
export function sweepsSince(file: string, since: number): number[] {
  return scanServiceLog(file)
    .lines.filter((line) => line.msg.startsWith('sweep found') && line.time >= since)
    .map((line) => line.time)
}
