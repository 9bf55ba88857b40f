// CPU time and memory of processes this benchmark started, read from /proc by their PIDs,
// and the machine's total, so a figure can say where the CPU went and how busy others were.
import { readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second of /proc/<pid>/stat; 100 on every Linux this runs on. */
const TICKS_PER_S = 100

function statFields(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name is in parentheses and may hold spaces; fields count from after it.
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}

/** User plus system CPU seconds of one process (its threads included). */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid)
  if (!fields) return 0

  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S
}

/** Direct children of `pid` (nginx's worker under its master). */
export function childrenOf(pid: number): number[] {
  const children: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const fields = statFields(Number(entry))
    if (fields && Number(fields[1]) === pid) children.push(Number(entry))
  }

  return children
}

/** VmRSS and VmHWM (the peak) of a process, in MiB. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1])

    return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 }
  } catch {
    return { rss: Number.NaN, peak: Number.NaN }
  }
}

function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  const values = line.trim().split(/\s+/).slice(1).map(Number)
  const total = values.reduce((sum, v) => sum + v, 0)
  const idle = (values[3] ?? 0) + (values[4] ?? 0)

  return { busy: total - idle, total }
}

/** CPU use over an interval, in percent of one core, per named group of PIDs. */
export interface CpuShare {
  /** name -> percent of one core */
  byName: Map<string, number>
  /** Everything on the machine outside the named groups and this process. */
  others: number
  /** This process: the load generator (or the floor's driver). */
  client: number
  cores: number
  seconds: number
}

export class CpuMeter {
  private readonly startCpu: Map<string, number>
  private readonly startClient = process.cpuUsage()
  private readonly startMachine = machineJiffies()
  private readonly startedAt = performance.now()

  constructor(private readonly groups: Map<string, () => number[]>) {
    this.startCpu = this.sample()
  }

  stop(): CpuShare {
    const seconds = (performance.now() - this.startedAt) / 1000
    const end = this.sample()
    const byName = new Map<string, number>()
    for (const [name, used] of end) {
      byName.set(name, ((used - (this.startCpu.get(name) ?? 0)) / seconds) * 100)
    }
    const usage = process.cpuUsage(this.startClient)
    const client = ((usage.user + usage.system) / 1e6 / seconds) * 100
    const machine = machineJiffies()
    const busy = ((machine.busy - this.startMachine.busy) / TICKS_PER_S / seconds) * 100
    const ours = [...byName.values()].reduce((sum, v) => sum + v, 0) + client
    const cores = Math.round(
      (machine.total - this.startMachine.total) / TICKS_PER_S / Math.max(seconds, 1e-3),
    )

    return { byName, client, others: Math.max(0, busy - ours), cores, seconds }
  }

  private sample(): Map<string, number> {
    const used = new Map<string, number>()
    for (const [name, pids] of this.groups) {
      used.set(
        name,
        pids().reduce((sum, pid) => sum + cpuSeconds(pid), 0),
      )
    }

    return used
  }
}

/** "service 92%, mariadbd 61%, client 35%, others 8% (of 200%)". */
export function describeCpu(share: CpuShare): string {
  const parts = [...share.byName].map(([name, pct]) => `${name} ${Math.round(pct)}%`)
  parts.push(`client ${Math.round(share.client)}%`, `others ${Math.round(share.others)}%`)

  return `${parts.join(', ')} (of ${share.cores * 100}%)`
}
