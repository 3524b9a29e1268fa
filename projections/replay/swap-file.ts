// Putting a rebuilt SQLite file in place of the old one, atomically: the new file is written beside
// the target (same directory, so the same file system), closed (which checkpoints and removes its
// WAL), fsynced, then renamed over the target, and the directory fsynced so the rename itself is
// durable. A reader opening the target sees either the whole old file or the whole new one.
//
// A SQLite file must not be replaced while a process has it open: that process would go on with the
// old file, and its WAL (named after the path) would be applied to the new one. So the swap refuses
// a target whose WAL survives our own open and close, which means another connection holds it.
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import Database from 'better-sqlite3'

/** Another process has the read-model file open: stop it (projections, serve) before replaying into it. */
export class ReadModelInUseError extends Error {
  override readonly name = 'ReadModelInUseError'
  constructor(readonly path: string) {
    super(`${path} is open in another process (its WAL file stays after a checkpoint); stop that process before replacing the file`)
  }
}

const sidecars = (path: string): string[] => [`${path}-wal`, `${path}-shm`, `${path}-journal`]

/** Deletes a SQLite file and its WAL, shared-memory and rollback-journal files, when present. */
export function removeSqliteFile(path: string): void {
  for (const file of [path, ...sidecars(path)]) rmSync(file, { force: true })
}

/** Throws ReadModelInUseError when another connection has the file open; a missing file is free. */
export function assertNotInUse(path: string): void {
  if (!existsSync(path)) return
  const db = new Database(path, { fileMustExist: true })
  try {
    db.pragma('wal_checkpoint(TRUNCATE)')
  } finally {
    db.close()
  }
  // The last connection to close removes the WAL; one left means another connection is open.
  if (existsSync(`${path}-wal`)) throw new ReadModelInUseError(path)
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Renames the closed file `fresh` over `target`, durably; refuses while the target is in use. */
export function swapInFile(fresh: string, target: string): void {
  fsyncPath(fresh)
  assertNotInUse(target)
  for (const sidecar of sidecars(target)) rmSync(sidecar, { force: true })
  renameSync(fresh, target)
  fsyncPath(dirname(target))
}

/** The fresh file a replay by process `pid` writes beside `target`. */
export function freshFileOf(target: string, pid: number): string {
  return join(dirname(target), `.${basename(target)}.replay-${pid}`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Deletes the fresh files (and their sidecars) that replays of `target` left when they were killed
 * before they could clean up, those whose process is gone; returns the paths deleted. A replay
 * still running keeps its file (as seen from this process's pid namespace: two containers must not
 * replay into one file at once).
 */
export function removeAbandonedFreshFiles(target: string): string[] {
  const prefix = `.${basename(target)}.replay-`
  const removed: string[] = []
  for (const name of readdirSync(dirname(target))) {
    const pid = name.startsWith(prefix) ? Number(name.slice(prefix.length)) : Number.NaN
    if (!Number.isSafeInteger(pid) || pid <= 0 || isAlive(pid)) continue
    const path = join(dirname(target), name)
    removeSqliteFile(path)
    removed.push(path)
  }
  return removed
}
