// A seeded pseudo-random source (mulberry32) for generated test histories: the same seed gives the
// same history, so a failing property names the seed that reproduces it.

export interface Random {
  /** An integer in [0, n). */
  int(n: number): number
  chance(probability: number): boolean
  pick<T>(items: readonly T[]): T
}

export function createRandom(seed: number): Random {
  let state = seed >>> 0
  function next(): number {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  return {
    int,
    chance: (probability) => next() < probability,
    pick: (items) => {
      if (items.length === 0) throw new RangeError('pick from an empty list')
      return items[int(items.length)]!
    },
  }
}

/** Merges the streams in a random order that keeps each stream's own order. */
export function interleave<T>(streams: readonly (readonly T[])[], random: Random): T[] {
  const next = streams.map(() => 0)
  const out: T[] = []
  let open = streams.map((_, i) => i).filter((i) => streams[i]!.length > 0)
  while (open.length > 0) {
    const stream = random.pick(open)
    out.push(streams[stream]![next[stream]!++]!)
    if (next[stream]! >= streams[stream]!.length) open = open.filter((i) => i !== stream)
  }
  return out
}
