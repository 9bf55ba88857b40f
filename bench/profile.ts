// Reads a V8 .cpuprofile (node --cpu-prof) and says where the service's CPU went: the
// functions with the most self time, and the same time grouped by package.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

export interface ProfileSummary {
  /** Sampled time that was not idle, in ms. */
  busyMs: number
  top: { name: string; where: string; ms: number; share: number }[]
  /** Self time by the package of the function itself (native code counts apart). */
  byPackage: { name: string; ms: number; share: number }[]
  /**
   * Each sample charged to the nearest package on its stack: a socket write done for mysql2
   * counts for mysql2, one done for a log line for pino. Node's own frames pass it upward.
   */
  byCaller: { name: string; ms: number; share: number }[]
}

/** The newest .cpuprofile in `dir`. */
export function findProfile(dir: string): string {
  const file = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .sort()
    .at(-1)
  if (!file) throw new Error(`no .cpuprofile was written in ${dir}`)

  return join(dir, file)
}

/**
 * Self time per function and per package, from the first sample that ran the service's
 * assignment code on, so start-up (module loading, compiling) is left out.
 */
export function summarizeProfile(path: string, topN = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id)
  const stack = (id: number) => {
    const frames: ProfileNode[] = []
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at)
      if (node) frames.push(node)
    }

    return frames
  }

  const functions = new Map<string, { name: string; where: string; us: number }>()
  const packages = new Map<string, number>()
  const callers = new Map<string, number>()
  const add = (map: Map<string, number>, key: string, us: number) =>
    map.set(key, (map.get(key) ?? 0) + us)
  let busyUs = 0
  let serving = false
  profile.samples.forEach((id, i) => {
    // timeDeltas[i] is the time before samples[i]; charge it to the sample it led to.
    const us = profile.timeDeltas[i] ?? 0
    const frames = stack(id)
    serving ||= frames.some((f) => f.callFrame.url.endsWith('domain/assignment-service.js'))
    const frame = frames[0]?.callFrame
    if (!serving || !frame || frame.functionName === '(idle)') return
    busyUs += us
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : ''
    const name = frame.functionName || '(anonymous)'
    const key = `${name} ${where}`
    const entry = functions.get(key) ?? { name, where, us: 0 }
    entry.us += us
    functions.set(key, entry)
    add(packages, packageOf(frame.url, frame.functionName), us)
    const owner = frames.find((f) => isPackage(f.callFrame.url))
    add(callers, owner ? packageOf(owner.callFrame.url, '') : packageOf('', frame.functionName), us)
  })

  const share = (us: number) => (busyUs > 0 ? us / busyUs : 0)
  const ranked = (map: Map<string, number>) =>
    [...map]
      .sort(([, a], [, b]) => b - a)
      .map(([name, us]) => ({ name, ms: us / 1000, share: share(us) }))

  return {
    busyMs: busyUs / 1000,
    top: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((f) => ({ name: f.name, where: f.where, ms: f.us / 1000, share: share(f.us) })),
    byPackage: ranked(packages),
    byCaller: ranked(callers),
  }
}

function isPackage(url: string): boolean {
  return url.includes('node_modules/') || url.includes('/dist/src/')
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/')
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length)
  const dist = url.indexOf('/dist/')
  if (dist >= 0) return url.slice(dist + 1)

  return url.replace(/^file:\/\//, '')
}

/** Which package (or part of Node) a frame belongs to. */
function packageOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return 'V8 garbage collector'
    if (functionName === '(program)') return 'V8/native (program)'

    return 'native'
  }
  const modules = url.lastIndexOf('node_modules/')
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/')

    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url)
  }
  if (url.startsWith('node:')) return 'node core (http, net, streams, timers)'
  if (url.includes('/dist/src/')) return 'qc-assign (dist/src)'

  return url
}
