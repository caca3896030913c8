/**
 * The named tunables profiles (legacy through optimal) with Pacific's values.
 *
 * @module
 */
import type { CrushMap, CrushTunables } from './model.ts'

/** Profile names `ceph osd crush tunables` accepts. */
export type TunablesProfile = 'legacy' | 'argonaut' | 'bobtail' | 'firefly' | 'hammer' | 'jewel' | 'optimal' | 'default'

/** The profile names, oldest first. */
export const tunablesProfiles: readonly TunablesProfile[] = ['legacy', 'argonaut', 'bobtail', 'firefly', 'hammer', 'jewel', 'optimal', 'default']

/**
 * Applies a profile to `map.tunables` as Ceph's `set_tunables_*` do: only legacy and
 * optimal/default write `straw_calc_version`; the others leave it unchanged.
 */
export function applyTunablesProfile(map: CrushMap, profile: TunablesProfile): void {
  const t = map.tunables
  const set = (v: Partial<CrushTunables>): void => {
    Object.assign(t, v)
  }
  const legacy = { chooseLocalTries: 2, chooseLocalFallbackTries: 5, chooseTotalTries: 19, chooseleafDescendOnce: 0, chooseleafVaryR: 0, chooseleafStable: 0, allowedBucketAlgs: 22 }
  const bobtail = { ...legacy, chooseLocalTries: 0, chooseLocalFallbackTries: 0, chooseTotalTries: 50, chooseleafDescendOnce: 1 }
  const firefly = { ...bobtail, chooseleafVaryR: 1 }
  const hammer = { ...firefly, allowedBucketAlgs: 54 }
  const jewel = { ...hammer, chooseleafStable: 1 }
  switch (profile) {
    case 'legacy':
      set({ ...legacy, strawCalcVersion: 0 })
      break
    case 'argonaut':
      set(legacy)
      break
    case 'bobtail':
      set(bobtail)
      break
    case 'firefly':
      set(firefly)
      break
    case 'hammer':
      set(hammer)
      break
    case 'jewel':
      set(jewel)
      break
    case 'optimal':
    case 'default':
      set({ ...jewel, strawCalcVersion: 1 })
      break
  }
}

/** Tunables of a profile on their own (a fresh legacy set with the profile applied). */
export function tunablesOf(profile: TunablesProfile): CrushTunables {
  const map = {
    tunables: { chooseLocalTries: 2, chooseLocalFallbackTries: 5, chooseTotalTries: 19, chooseleafDescendOnce: 0, chooseleafVaryR: 0, chooseleafStable: 0, strawCalcVersion: 0, allowedBucketAlgs: 22 },
  } as CrushMap
  applyTunablesProfile(map, profile)
  return map.tunables
}
