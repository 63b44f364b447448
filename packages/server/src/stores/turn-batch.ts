/**
 * Gathers the calls made during one turn of the event loop and hands them to `commit` together,
 * once the turn's I/O callbacks have run (setImmediate), so that concurrent requests share one
 * commit or one round trip. `commit` answers every item, in order; when it fails, every call of
 * the batch fails with its error.
 */
export function batchedPerTurn<Item, Result>(
  commit: (items: Item[]) => Promise<Result[]>,
): (item: Item) => Promise<Result> {
  let pending: {
    item: Item
    resolve: (result: Result) => void
    reject: (error: unknown) => void
  }[] = []
  const flush = (): void => {
    const batch = pending
    pending = []
    commit(batch.map((entry) => entry.item)).then(
      (results) => batch.forEach((entry, index) => entry.resolve(results[index] as Result)),
      (error: unknown) => batch.forEach((entry) => entry.reject(error)),
    )
  }
  return (item) =>
    new Promise<Result>((resolve, reject) => {
      if (pending.push({ item, resolve, reject }) === 1) setImmediate(flush)
    })
}
