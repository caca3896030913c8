/**
 * Pluggable authentication. `none` accepts everyone; `hmac` is a shared-secret challenge-response
 * (mutual: each side proves it holds the entity's key without sending it), giving a session key
 * that signs the handshake transcript (msgr2's AUTH_SIGNATURE).
 *
 * @module
 */
import { Decoder, DerError, Encoder } from '@x/common'
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Keyring } from './keyring.ts'

/** What an auth exchange knows about the two sides. */
export interface AuthContext {
  /** Our entity name (`client.admin`). */
  readonly myName: string
  /** The peer's entity name from its hello. */
  readonly peerName: string
}

/** The server's answer to one request: another challenge, or done with a session key. */
export type AuthStep = { readonly more: Uint8Array } | { readonly done: Uint8Array; readonly sessionKey: Uint8Array }

/** The client half of one exchange. */
export interface ClientAuth {
  /** The payload of AUTH_REQUEST. */
  start(): Uint8Array
  /** Answers AUTH_REPLY_MORE with the payload of AUTH_REQUEST_MORE. */
  more(challenge: Uint8Array): Uint8Array
  /** Checks AUTH_DONE's payload and returns the session key; throws `DER_NO_PERM` if the server is not who it claims. */
  done(payload: Uint8Array): Uint8Array
}

/** The server half of one exchange. */
export interface ServerAuth {
  /** Handles AUTH_REQUEST / AUTH_REQUEST_MORE; throws `DER_NO_PERM` to refuse the peer. */
  step(payload: Uint8Array): AuthStep
}

/** An authentication method. */
export interface AuthMethod {
  /** Wire id (CEPH_AUTH_NONE is 1; `hmac` uses 0x10). */
  readonly id: number
  readonly name: string
  client(context: AuthContext): ClientAuth
  server(context: AuthContext): ServerAuth
}

/** Accepts everyone; the session key is empty (signatures are 32 zero bytes). */
export const noneAuth: AuthMethod = {
  id: 1,
  name: 'none',
  client: () => ({ start: () => new Uint8Array(0), more: () => new Uint8Array(0), done: () => new Uint8Array(0) }),
  server: () => ({ step: () => ({ done: new Uint8Array(0), sessionKey: new Uint8Array(0) }) }),
}

const nonceBytes = 16

function hmac(key: Uint8Array, label: string, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key).update(label)
  for (const part of parts) h.update(part)
  return new Uint8Array(h.digest())
}

function keyOf(keyring: Keyring, name: string): Uint8Array {
  const key = keyring.get(name)
  if (key === undefined) throw new DerError('DER_NO_PERM', `no key for ${name} in the keyring`)
  return key
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * Shared-secret challenge-response with keys from a keyring (both sides hold the client's key):
 * the client names itself; the server answers with a random challenge; the client returns its own
 * nonce and HMAC(key, challenge, nonce); the server checks it and proves itself with
 * HMAC(key, nonce, challenge). The session key is HMAC(key, "session", challenge, nonce).
 */
export function hmacAuth(keyring: Keyring): AuthMethod {
  return {
    id: 0x10,
    name: 'hmac',
    client(context) {
      const key = keyOf(keyring, context.myName)
      let challenge: Uint8Array | undefined
      let nonce: Uint8Array | undefined
      return {
        start: () => new Encoder().string(context.myName).finish(),
        more(payload) {
          if (payload.length !== nonceBytes) throw new DerError('DER_PROTO', 'hmac auth: bad challenge')
          challenge = payload
          nonce = new Uint8Array(randomBytes(nonceBytes))
          return new Encoder().bytes(nonce).bytes(hmac(key, 'client', challenge, nonce)).finish()
        },
        done(payload) {
          if (challenge === undefined || nonce === undefined) throw new DerError('DER_PROTO', 'hmac auth: done before challenge')
          if (!same(payload, hmac(key, 'server', nonce, challenge))) throw new DerError('DER_NO_PERM', 'hmac auth: the server does not hold our key')
          return hmac(key, 'session', challenge, nonce)
        },
      }
    },
    server() {
      let challenge: Uint8Array | undefined
      let key: Uint8Array | undefined
      return {
        step(payload) {
          if (challenge === undefined) {
            const decoder = new Decoder(payload, { maxBytesLength: 256 })
            const claimed = decoder.string()
            decoder.expectEnd()
            key = keyOf(keyring, claimed)
            challenge = new Uint8Array(randomBytes(nonceBytes))
            return { more: challenge }
          }
          if (key === undefined) throw new DerError('DER_PROTO', 'hmac auth: no key')
          const decoder = new Decoder(payload, { maxBytesLength: 256 })
          const nonce = decoder.bytes()
          const proof = decoder.bytes()
          decoder.expectEnd()
          if (nonce.length !== nonceBytes || !same(proof, hmac(key, 'client', challenge, nonce))) throw new DerError('DER_NO_PERM', 'hmac auth: bad proof')
          return { done: hmac(key, 'server', nonce, challenge), sessionKey: hmac(key, 'session', challenge, nonce) }
        },
      }
    },
  }
}

/** AUTH_SIGNATURE: HMAC-SHA256 of a transcript with the session key (32 zero bytes for `none`). */
export function signTranscript(sessionKey: Uint8Array, transcript: readonly Uint8Array[]): Uint8Array {
  if (sessionKey.length === 0) return new Uint8Array(32)
  return hmac(sessionKey, '', ...transcript)
}

/** Whether two signatures match (constant time). */
export function signaturesMatch(a: Uint8Array, b: Uint8Array): boolean {
  return same(a, b)
}
