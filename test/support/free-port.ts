import { createServer } from 'node:net'

/**
 * A TCP port that was free on `host` a moment ago. The OS may hand it to someone else before the
 * caller binds it, so a caller that spawns a server on it should retry on "address in use".
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address()
      if (address === null || typeof address === 'string') {
        server.close()
        reject(new Error(`could not read the port bound on ${host}`))
        return
      }
      server.close((error) => (error ? reject(error) : resolve(address.port)))
    })
  })
}
