import { duration } from './format.js'

export interface HourPoint {
  /** The hour's start, ISO 8601. */
  hour: string
  completed: number
  mean_wait_ms: number | null
}

const SVG = 'http://www.w3.org/2000/svg'
const WIDTH = 640
const HEIGHT = 180
const PAD = 28

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag)
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value))
  if (text !== undefined) node.textContent = text
  return node
}

/** Bars for tasks completed per hour, a line for the mean wait, each on its own scale. */
export function throughputChart(points: readonly HourPoint[]): SVGSVGElement {
  const chart = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: 'img',
    class: 'chart',
    'aria-label': 'Tasks completed per hour (bars) and mean wait (line)',
  })
  const slot = (WIDTH - 2 * PAD) / Math.max(points.length, 1)
  const most = Math.max(1, ...points.map((point) => point.completed))
  const longest = Math.max(1, ...points.map((point) => point.mean_wait_ms ?? 0))
  const y = (share: number) => HEIGHT - PAD - share * (HEIGHT - 2 * PAD)

  const line: string[] = []
  points.forEach((point, index) => {
    const x = PAD + index * slot
    const top = y(point.completed / most)
    const bar = svg('rect', {
      x: x + slot * 0.15,
      y: top,
      width: slot * 0.7,
      height: HEIGHT - PAD - top,
      class: 'bar',
    })
    bar.append(svg('title', {}, `${point.completed} completed`))
    chart.append(bar)
    const label = String(new Date(point.hour).getHours()).padStart(2, '0')
    chart.append(svg('text', { x: x + slot / 2, y: HEIGHT - 8, class: 'axis' }, `${label}h`))
    if (point.mean_wait_ms !== null) {
      const [cx, cy] = [x + slot / 2, y(point.mean_wait_ms / longest)]
      line.push(`${cx},${cy}`)
      // A dot too, so an hour with no neighbour still shows its wait.
      const dot = svg('circle', { cx, cy, r: 3, class: 'wait-point' })
      dot.append(svg('title', {}, `mean wait ${duration(point.mean_wait_ms)}`))
      chart.append(dot)
    }
  })
  if (line.length > 0) chart.append(svg('polyline', { points: line.join(' '), class: 'wait' }))
  chart.append(svg('text', { x: PAD, y: 14, class: 'axis' }, `max ${most}/h`))
  chart.append(
    svg('text', { x: WIDTH - PAD, y: 14, class: 'axis end' }, `wait up to ${duration(longest)}`),
  )

  return chart
}
