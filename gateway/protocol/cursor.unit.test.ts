import { describe, expect, it } from 'vitest'
import {
  advancePosition,
  encodeCursor,
  MalformedCursorError,
  maxPosition,
  parseCursor,
  replayRanges,
  withOffset,
} from './cursor.ts'

describe('resume cursor', () => {
  it('round-trips a position through its compact text', () => {
    expect(encodeCursor([120, 98, 77])).toBe('1.120-98-77')
    expect(parseCursor('1.120-98-77')).toEqual([120, 98, 77])
    expect(parseCursor(encodeCursor([]))).toEqual([0])
  })

  it.each(['', '120-98', '2.1-2', '1.', '1.01', '1.1--2', '1.-1', '1.1.2', '1.1-2 ', '1.99999999999999999'])(
    'rejects the malformed cursor %j',
    (text) => {
      expect(() => parseCursor(text)).toThrowError(MalformedCursorError)
    },
  )

  it('rejects a cursor with more partitions than any topic has', () => {
    expect(() => parseCursor(`1.${Array.from({ length: 5000 }, () => '0').join('-')}`)).toThrowError(/partitions/)
  })

  it('moves a partition forward only, and reads missing partitions as offset 0', () => {
    expect(advancePosition([5, 3], 1, 7)).toEqual([5, 7])
    expect(advancePosition([5, 3], 1, 2)).toEqual([5, 3])
    expect(advancePosition([5], 2, 4)).toEqual([5, 0, 4])
    expect(withOffset([5, 9], 1, 4)).toEqual([5, 4])
  })

  it('replays per partition from the cursor up to the live position, nothing where the cursor is ahead', () => {
    expect(replayRanges([2, 9, 0], [5, 7, 0, 3])).toEqual([
      { partition: 0, from: 2, to: 5 },
      { partition: 3, from: 0, to: 3 },
    ])
    expect(replayRanges([5, 7], [5, 7])).toEqual([])
    expect(maxPosition([2, 9], [5, 7, 1])).toEqual([5, 9, 1])
  })
})
