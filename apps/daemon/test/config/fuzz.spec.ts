import fc from 'fast-check'
import { Random, isDerError } from '@x/common'
import { readFileSync } from 'node:fs'
import { stringify } from 'yaml'
import { describe, expect, it } from 'vitest'
import { dumpServerConfig, embeddedDefaultConfig, loadServerConfig } from '../../src/index.ts'

const exampleText = readFileSync(new URL('../../testdata/daos_server.yml', import.meta.url), 'utf8')

/** Loads `text`; anything thrown must be a DER_INVAL DerError. Returns whether it loaded. */
function loadsOrRefuses(text: string, context: string): boolean {
  try {
    loadServerConfig(text)
    return true
  } catch (e) {
    if (!isDerError(e, 'DER_INVAL')) throw new Error(`${context}: threw a non-DER_INVAL error ${String(e)} for:\n${text}`)
    expect(e.message.length, context).toBeGreaterThan(0)
    return false
  }
}

const yamlFragments = [':', '- ', '{', '}', '[', ']', '&a ', '*a', '!!str ', '!tag ', '<<: ', '? ', '|', '>', '#', '"', "'", '\\', '\t', '\n', '  ', '---\n', '...\n', '%YAML 1.2\n', 'null', '~', '1e999', '0x1F', '-0', '.nan', 'size: ', 'engines:', 'targets: ', 'class: ram', '__proto__: ', 'constructor: ']

/** Deterministic mutations of a valid config: byte flips, deletions, insertions of YAML syntax, line shuffles. */
function mutate(text: string, random: Random): string {
  let out = text
  const rounds = 1 + random.int(4)
  for (let r = 0; r < rounds; r++) {
    const at = random.int(out.length + 1)
    switch (random.int(6)) {
      case 0:
        out = out.slice(0, at) + String.fromCharCode(random.int(128)) + out.slice(at + 1)
        break
      case 1:
        out = out.slice(0, at) + out.slice(at + 1 + random.int(20))
        break
      case 2:
        out = out.slice(0, at) + (yamlFragments[random.int(yamlFragments.length)] ?? '') + out.slice(at)
        break
      case 3: {
        const lines = out.split('\n')
        const i = random.int(lines.length)
        const j = random.int(lines.length)
        const a = lines[i] ?? ''
        lines[i] = lines[j] ?? ''
        lines[j] = a
        out = lines.join('\n')
        break
      }
      case 4: {
        const lines = out.split('\n')
        lines.splice(random.int(lines.length), 1)
        out = lines.join('\n')
        break
      }
      default:
        out = out.replace(/\d+/, String(random.int(200_000) - 100_000))
    }
  }
  return out
}

describe('the config loader under fuzzing', () => {
  it('mutated valid configs load or give DER_INVAL, nothing else', () => {
    const seed = 0x5eed12
    const random = new Random(seed)
    const sources = [exampleText, dumpServerConfig(embeddedDefaultConfig('/tmp/x'))]
    let loaded = 0
    const runs = 1500
    for (let run = 0; run < runs; run++) {
      const source = sources[run % sources.length] ?? ''
      if (loadsOrRefuses(mutate(source, random), `seed ${seed} run ${run}`)) loaded++
    }
    // Mutations must exercise both paths; otherwise the fuzzer tests nothing.
    expect(loaded, `seed ${seed}`).toBeGreaterThan(0)
    expect(loaded, `seed ${seed}`).toBeLessThan(runs)
  })

  it('random strings give a config or DER_INVAL', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        loadsOrRefuses(text, 'random string')
      }),
      { numRuns: 2000, seed: 12 },
    )
  })

  it('random YAML documents of arbitrary shapes give a config or DER_INVAL', () => {
    const key = fc.constantFrom('name', 'port', 'engines', 'targets', 'storage', 'class', 'size', 'path', 'access_points', 'transport_config', 'allow_insecure', 'telemetry_port', 'log_mask', 'provider', 'x')
    const leaf = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom('ram', 'file', '1G', '512MiB', 'tcp', 'ERR'))
    const value = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(key, tie('node'), { maxKeys: 5 })),
    })).node
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 6 }), (data) => {
        loadsOrRefuses(stringify(data), 'random document')
      }),
      { numRuns: 1500, seed: 34 },
    )
  })
})
