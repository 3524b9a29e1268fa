import { describe, expect, it } from 'vitest'
import { stampedFrame } from './fanout-protocol.ts'
import { FrameCounter } from './frame-counter.ts'

function serverFrame(text: string, opcode = 1): Buffer {
  const payload = Buffer.from(text)
  const length = payload.length
  const header =
    length < 126
      ? Buffer.from([0x80 | opcode, length])
      : length < 65_536
        ? Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), Buffer.from(new BigUint64Array([BigInt(length)]).buffer).reverse()])
  return Buffer.concat([header, payload])
}

function stamps(chunks: readonly Buffer[]): number[] {
  const seen: number[] = []
  const counter = new FrameCounter({ frame: (stamp) => seen.push(stamp) })
  for (const chunk of chunks) counter.push(chunk)
  return seen
}

describe('FrameCounter', () => {
  const stream = Buffer.concat([
    serverFrame(stampedFrame(123, '1')),
    serverFrame('', 9),
    serverFrame(stampedFrame(4_567_890_123, '2'.repeat(300))),
    serverFrame(stampedFrame(42, '3'.repeat(70_000))),
    serverFrame(stampedFrame(7, '4')),
  ])

  it('reads the stamp of every text frame and skips control frames, whole stream at once', () => {
    expect(stamps([stream])).toEqual([123, 4_567_890_123, 42, 7])
  })

  it('gives the same frames whatever the chunking, headers and stamps split included', () => {
    for (const size of [1, 2, 3, 7, 26, 1000]) {
      const chunks: Buffer[] = []
      for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size))
      expect(stamps(chunks)).toEqual([123, 4_567_890_123, 42, 7])
    }
  })
})
