// Text that the transport copies out of a uWS request or response, in the forms the handlers see.
import type { HttpResponse as UwsResponse, WebSocket } from 'uWebSockets.js'

const textDecoder = new TextDecoder()

/** The percent-decoded path of a request URL (uWS's getUrl has no query); undefined when malformed. */
export function decodePath(url: string): string | undefined {
  try {
    return decodeURIComponent(url)
  } catch {
    return undefined
  }
}

/** The peer's address as text, IPv4 peers of a dual-stack socket as plain IPv4 (see normalizeAddress). */
export function remoteAddress(source: UwsResponse | WebSocket<unknown>): string {
  return normalizeAddress(textDecoder.decode(source.getRemoteAddressAsText()))
}

const mappedHex = /^(?:0{1,4}:){5}ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i
const mappedDotted = /^(?:(?:0{1,4}:){5}|::)ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i

/**
 * uWS writes an IPv4 peer of a socket listening on "::" as an IPv4-mapped IPv6 address in long hex
 * form ("0000:0000:0000:0000:0000:ffff:7f00:0001"); it is reduced to "127.0.0.1" so that logs read
 * plainly and a per-IP cap counts one peer once, whichever family the listener was bound to.
 */
export function normalizeAddress(text: string): string {
  const hex = mappedHex.exec(text)
  if (hex !== null) {
    const high = Number.parseInt(hex[1] ?? '0', 16)
    const low = Number.parseInt(hex[2] ?? '0', 16)
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`
  }
  return mappedDotted.exec(text)?.[1] ?? text
}
