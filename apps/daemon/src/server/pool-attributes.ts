/**
 * Pool user attributes (`daos pool list-attrs|get-attr|set-attr`) on top of any control backend:
 * the pool service keeps attributes per container only, so a pool's attributes live on a
 * reserved container labelled {@link poolAttributesContainer}, created on the first set. The
 * reserved names (`x.` attributes, `x.` container labels) are hidden from `daos` listings and
 * refused as user input.
 *
 * @module
 */
import { DerError, isDerError } from '@x/common'
import type { ControlHandlers } from '../control/control-server.ts'

/** The label of the reserved container that holds a pool's user attributes. */
export const poolAttributesContainer = 'x.pool_attrs'

/** The prefix of reserved attribute names and container labels. */
export const reservedNamePrefix = 'x.'

/** The methods a backend must serve; the pool attribute methods come from {@link withPoolAttributes}. */
export type BackendHandlers = Omit<ControlHandlers, 'PoolListAttrs' | 'PoolGetAttr' | 'PoolSetAttr'>

function refuseReserved(names: readonly string[], what: string): void {
  for (const n of names) if (n.startsWith(reservedNamePrefix)) throw new DerError('DER_INVAL', `${what}: attribute names starting with '${reservedNamePrefix}' are reserved ('${n}')`)
}

/** Adds pool attributes to a backend and hides the reserved names from container listings. */
export function withPoolAttributes(backend: BackendHandlers): ControlHandlers {
  const ident = (identity: unknown): object => (identity === undefined ? {} : { identity })
  return {
    ...backend,
    ContainerCreate: async (request) => {
      if (request.label.startsWith(reservedNamePrefix)) throw new DerError('DER_INVAL', `container create: labels starting with '${reservedNamePrefix}' are reserved`)
      return backend.ContainerCreate(request)
    },
    ContainerList: async (request) => {
      const r = await backend.ContainerList(request)
      return { containers: r.containers.filter((c) => !c.label.startsWith(reservedNamePrefix)) }
    },
    ContainerListAttrs: async (request) => {
      const r = await backend.ContainerListAttrs(request)
      return { names: r.names.filter((n) => !n.startsWith(reservedNamePrefix)) }
    },
    ContainerSetAttr: async (request) => {
      refuseReserved(Object.keys(request.attrs), 'set-attr')
      return backend.ContainerSetAttr(request)
    },
    ContainerDelAttr: async (request) => {
      refuseReserved(request.names, 'del-attr')
      return backend.ContainerDelAttr(request)
    },
    PoolListAttrs: async (request) => {
      // Checks the pool and the caller's access even when no attribute was ever set.
      await backend.PoolQuery(request)
      try {
        const r = await backend.ContainerListAttrs({ pool: request.id, cont: poolAttributesContainer, ...ident(request.identity) })
        return { names: r.names.filter((n) => !n.startsWith(reservedNamePrefix)) }
      } catch (e) {
        if (isDerError(e, 'DER_NONEXIST')) return { names: [] }
        throw e
      }
    },
    PoolGetAttr: async (request) => {
      if (request.names.length === 0) throw new DerError('DER_INVAL', 'get-attr: no attribute names given')
      await backend.PoolQuery({ id: request.id, ...ident(request.identity) })
      try {
        return await backend.ContainerGetAttr({ pool: request.id, cont: poolAttributesContainer, names: request.names, ...ident(request.identity) })
      } catch (e) {
        if (isDerError(e, 'DER_NONEXIST')) throw new DerError('DER_NONEXIST', `pool ${request.id} has no attribute ${request.names.join(', ')}`)
        throw e
      }
    },
    PoolSetAttr: async (request) => {
      const names = Object.keys(request.attrs)
      if (names.length === 0) throw new DerError('DER_INVAL', 'set-attr: no attributes given')
      refuseReserved(names, 'set-attr')
      const target = { pool: request.id, cont: poolAttributesContainer, attrs: request.attrs, ...ident(request.identity) }
      try {
        return await backend.ContainerSetAttr(target)
      } catch (e) {
        if (!isDerError(e, 'DER_NONEXIST') || !/container/.test(e.message)) throw e
      }
      await backend.ContainerCreate({ pool: request.id, label: poolAttributesContainer, ...ident(request.identity) })
      return backend.ContainerSetAttr(target)
    },
  }
}
