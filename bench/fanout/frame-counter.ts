// A WebSocket client's receive side reduced to what the benchmark needs: split the server's byte
// stream into frames (server frames are never masked), count the text frames and read each one's
// stamp. It does no UTF-8 decoding, no JSON and no allocation per frame, so that a client process
// can take frames far faster than a server can send them.
import { STAMP_DIGITS, STAMP_OFFSET } from './fanout-protocol.ts'

const STAMP_END = STAMP_OFFSET + STAMP_DIGITS
const OPCODE_TEXT = 1

export interface FrameSink {
  /** One text frame built at `stampMicros`. */
  frame(stampMicros: number): void
}

export class FrameCounter {
  private pending: Buffer | undefined
  /** Bytes of the current frame's payload still to come, past the stamp. */
  private skip = 0
  private readonly sink: FrameSink

  constructor(sink: FrameSink) {
    this.sink = sink
  }

  push(chunk: Buffer): void {
    let buffer = chunk
    if (this.pending !== undefined) {
      buffer = Buffer.concat([this.pending, chunk])
      this.pending = undefined
    }
    let at = Math.min(this.skip, buffer.length)
    this.skip -= at
    while (at < buffer.length) {
      const used = this.frameAt(buffer, at)
      if (used === 0) {
        this.pending = Buffer.from(buffer.subarray(at))
        return
      }
      at += used
    }
  }

  /** Bytes consumed from `at`: a whole frame, or what is here of one whose stamp was read; 0 when too short. */
  private frameAt(buffer: Buffer, at: number): number {
    const available = buffer.length - at
    if (available < 2) return 0
    const second = buffer[at + 1] ?? 0
    let length = second & 0x7f
    let header = 2
    if (length === 126) {
      if (available < 4) return 0
      length = buffer.readUInt16BE(at + 2)
      header = 4
    } else if (length === 127) {
      if (available < 10) return 0
      length = Number(buffer.readBigUInt64BE(at + 2))
      header = 10
    }
    const opcode = (buffer[at] ?? 0) & 0x0f
    const stamped = opcode === OPCODE_TEXT && length >= STAMP_END
    if (available < header + (stamped ? STAMP_END : length)) return 0
    if (stamped) this.sink.frame(readDigits(buffer, at + header + STAMP_OFFSET))
    const total = header + length
    if (available >= total) return total
    this.skip = total - available
    return available
  }
}

function readDigits(buffer: Buffer, at: number): number {
  let value = 0
  for (let i = 0; i < STAMP_DIGITS; i++) value = value * 10 + ((buffer[at + i] ?? 48) - 48)
  return value
}
