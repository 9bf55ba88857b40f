/** "4 s", "12 min", "3 h 5 min": how long, as a person reads it at a glance. */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000))
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min`
  const hours = Math.floor(minutes / 60)
  return `${hours} h ${minutes % 60} min`
}

export function since(iso: string | null, now = Date.now()): string {
  return iso ? duration(now - Date.parse(iso)) : '–'
}

export function between(from: string | null, to: string | null): string {
  return from && to ? duration(Date.parse(to) - Date.parse(from)) : '–'
}

/** An element with text and attributes; children are appended in order. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value)
  element.append(...children)
  return element
}
