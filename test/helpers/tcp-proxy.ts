import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * A TCP relay between a store client and its real server, so a test can cut the store off (as if
 * the server died or the network dropped) and bring it back, without stopping a server that
 * other test files share.
 */
export class TcpProxy {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  #state: 'up' | 'cut' | 'frozen' = 'up'

  private constructor(
    server: Server,
    readonly port: number,
    target: { host: string; port: number },
  ) {
    this.#server = server
    server.on('connection', (client) => {
      if (this.#state === 'cut') {
        client.destroy()
        return
      }
      const upstream = connect(target)
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket)
        socket.on('close', () => this.#sockets.delete(socket))
        socket.on('error', () => {
          client.destroy()
          upstream.destroy()
        })
      }
      client.pipe(upstream).pipe(client)
      if (this.#state === 'frozen') {
        client.pause()
        upstream.pause()
      }
    })
  }

  /** Listens on a free port of 127.0.0.1 and relays to `target`. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', resolve)
    })
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('proxy has no port')
    return new TcpProxy(server, address.port, target)
  }

  /** Drops every open connection and refuses new ones until `restore()`. */
  cut(): void {
    this.#state = 'cut'
    for (const socket of this.#sockets) socket.destroy()
    this.#sockets.clear()
  }

  /**
   * Keeps connections open, and accepts new ones, but stops relaying in both directions: requests
   * hang, as with a server that stopped answering or a network that drops packets silently.
   */
  freeze(): void {
    this.#state = 'frozen'
    for (const socket of this.#sockets) socket.pause()
  }

  /**
   * Hangs the connections open now but relays new ones: a client must give up on the stuck
   * connections and open fresh ones, not wait on them forever.
   */
  freezeExisting(): void {
    for (const socket of this.#sockets) socket.pause()
  }

  restore(): void {
    this.#state = 'up'
    for (const socket of this.#sockets) socket.resume()
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
