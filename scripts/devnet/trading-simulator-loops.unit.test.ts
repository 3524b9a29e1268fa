import { describe, expect, it } from 'vitest'
import { createLogger } from '../../indexer/runtime/logger.ts'
import { createLoops } from './trading-simulator-loops.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('simulator loops', () => {
  it('never overlaps a run with the next, and a failed run is logged while the loop goes on', async () => {
    const lines: string[] = []
    const loops = createLoops(createLogger({ write: (line) => void lines.push(line) }))
    let active = 0
    let maxActive = 0
    let runs = 0
    loops.every('slow', () => 1, async () => {
      active += 1
      maxActive = Math.max(maxActive, active)
      runs += 1
      await sleep(10)
      active -= 1
      if (runs === 2) throw new Error('boom')
    })
    await sleep(150)
    await loops.stop()
    expect(maxActive).toBe(1)
    expect(runs).toBeGreaterThan(3)
    expect(lines.some((line) => line.includes('"slow failed"') && line.includes('boom'))).toBe(true)
  })

  it('stop() waits for the run in flight and nothing runs afterwards', async () => {
    const loops = createLoops(createLogger({ level: 'silent' }))
    let finished = 0
    let started = 0
    loops.every('work', () => 1, async () => {
      started += 1
      await sleep(40)
      finished += 1
    })
    await sleep(20)
    await loops.stop()
    expect(finished).toBe(started)
    const after = started
    await sleep(60)
    expect(started).toBe(after)
  })
})
