import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DuplicateItemError, createSortedList } from './sorted-list.ts'

const byNumber = (a: number, b: number) => a - b

type Operation = { readonly insert: number } | { readonly remove: number }

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.integer({ min: 0, max: 300 }).map((insert) => ({ insert })),
  fc.integer({ min: 0, max: 300 }).map((remove) => ({ remove })),
)

describe('sorted list', () => {
  it('holds the same items in order as a sorted array after any loads, inserts and removals, across chunk splits', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 300 })), fc.array(operation, { maxLength: 300 }), fc.integer({ min: 1, max: 8 }), (initial, operations, chunkSize) => {
        const list = createSortedList(byNumber, initial, chunkSize)
        const model = new Set(initial)
        for (const op of operations) {
          if ('insert' in op) {
            if (model.has(op.insert)) expect(() => list.insert(op.insert)).toThrow(DuplicateItemError)
            else list.insert(op.insert)
            model.add(op.insert)
          } else {
            expect(list.remove(op.remove)).toBe(model.delete(op.remove))
          }
          expect(list.size).toBe(model.size)
        }
        const sorted = [...model].sort(byNumber)
        expect(list.toArray()).toEqual(sorted)
        const up: number[] = []
        list.scanUp((n) => up.push(n) > 0)
        const down: number[] = []
        list.scanDown((n) => down.push(n) > 0)
        expect(up).toEqual(sorted)
        expect(down).toEqual([...sorted].reverse())
      }),
      { numRuns: 500 },
    )
  })

  it('stops a scan at the first item its visitor refuses', () => {
    const list = createSortedList(byNumber, [5, 1, 4, 2, 3], 2)
    const below3: number[] = []
    list.scanUp((n) => n < 3 && below3.push(n) > 0)
    const above3: number[] = []
    list.scanDown((n) => n > 3 && above3.push(n) > 0)
    expect([below3, above3]).toEqual([
      [1, 2],
      [5, 4],
    ])
  })

  it('refuses a load with two equal items', () => {
    expect(() => createSortedList(byNumber, [1, 2, 1])).toThrow(DuplicateItemError)
  })
})
