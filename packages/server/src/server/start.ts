import type { BatonConfig } from '../core/config/config.js'
import { openStores } from '../stores/from-url.js'
import { buildServer, type BatonServer } from './app.js'

export interface RunningServer extends BatonServer {
  /** The address it listens on, e.g. `http://127.0.0.1:3000`. */
  url: string
  /** Stops accepting requests, finishes those in flight, closes the stores. */
  stop(): Promise<void>
}

/** Opens the configured stores, builds the app and listens. */
export async function startServer(config: BatonConfig): Promise<RunningServer> {
  const stores = await openStores({
    databaseUrl: config.databaseUrl,
    sessionStoreUrl: config.sessionStoreUrl,
  })
  let server: BatonServer
  try {
    server = await buildServer({ config, database: stores.database, sessions: stores.sessions })
  } catch (error) {
    await stores.close()
    throw error
  }
  const url = await server.app
    .listen({ host: config.host, port: config.port })
    .catch(async (error: unknown) => {
      await server.app.close()
      await stores.close()
      throw error
    })
  let stopping: Promise<void> | undefined
  return {
    ...server,
    url,
    stop() {
      stopping ??= server.app.close().finally(() => stores.close())
      return stopping
    },
  }
}
