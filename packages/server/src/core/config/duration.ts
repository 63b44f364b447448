const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }

/**
 * Parses `900`, `30s`, `15m`, `12h`, `14d` or `2w` into whole seconds; null when malformed.
 * Bare numbers are seconds, as docs/configuration.md says.
 */
export function parseDuration(text: string): number | null {
  const match = /^\s*(\d+)\s*([smhdw]?)\s*$/.exec(text)
  if (!match) return null
  const value = Number(match[1])
  const unit = units[match[2] || 's'] ?? 1
  const seconds = value * unit
  return Number.isSafeInteger(seconds) ? seconds : null
}
